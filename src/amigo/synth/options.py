"""Options and results of a generation run."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path

from amigo.core.errors import InvalidInputError


@dataclass(frozen=True)
class NoiseOptions:
    """How dirty the generated sources are; every rate is a probability in [0, 1]."""

    duplicate_within_source: float = 0.04  # a person entered twice in the same system
    typo: float = 0.05  # a typo in a name or e-mail local part on a person's later record
    swapped_names: float = 0.02  # first and last name swapped on a record
    missing_field: float = 0.10  # a record lost one or two of its fields
    second_email: float = 0.08  # another e-mail address on one of the person's records
    format_variant: float = 0.30  # phone, date, case, country-name format variants
    moved: float = 0.04  # an older address on older records, a newer one on newer records
    namesake: float = 0.01  # a different person with the same first and last name and city
    household: float = 0.02  # a different person sharing an e-mail or phone, name and address
    invalid_value: float = 0.01  # bad e-mail syntax, impossible phone, bad date

    def __post_init__(self) -> None:
        for option in fields(self):
            value = getattr(self, option.name)
            if not isinstance(value, int | float) or math.isnan(value) or not 0 <= value <= 1:
                raise InvalidInputError(
                    f"noise rate {option.name} must be between 0 and 1, got {value!r}",
                    details={
                        "option": option.name,
                        "value": repr(value),
                        "expected": "between 0 and 1",
                    },
                )

    def scaled(self, factor: float) -> NoiseOptions:
        """Return these options with every rate multiplied by `factor`, capped at 1."""
        if not isinstance(factor, int | float) or not math.isfinite(factor) or factor < 0:
            raise InvalidInputError(
                f"noise scale must be a finite number >= 0, got {factor!r}",
                details={
                    "option": "scale",
                    "value": repr(factor),
                    "expected": "a finite number >= 0",
                },
            )
        return NoiseOptions(
            **{
                option.name: min(1.0, getattr(self, option.name) * factor)
                for option in fields(self)
            }
        )


@dataclass(frozen=True)
class GenerationSummary:
    """What a run wrote: rows per file (headers excluded) and where."""

    out_dir: Path
    people: int
    cegid_customers: int
    shopify_customers: int
    submissions: int
    stores: int
    associates: int
    products: int
    receipts: int
    receipt_lines: int
    receipt_payments: int
    shopify_orders: int
    interactions: int
    truth_rows: int
    # Deliberately broken rows per file, for the loader to reject (included in the counts).
    bad_rows: dict[str, int] = field(default_factory=dict)

    def rows_by_file(self) -> dict[str, int]:
        """Return the number of data rows of each written file, by path relative to out_dir."""
        return {
            "cegid/stores.csv": self.stores,
            "cegid/sales_associates.csv": self.associates,
            "cegid/products.csv": self.products,
            "cegid/customers.csv": self.cegid_customers,
            "cegid/receipts.csv": self.receipts,
            "cegid/receipt_lines.csv": self.receipt_lines,
            "cegid/receipt_payments.csv": self.receipt_payments,
            "shopify/customers.jsonl": self.shopify_customers,
            "shopify/orders.jsonl": self.shopify_orders,
            "webforms/submissions.jsonl": self.submissions,
            "webforms/interactions.jsonl": self.interactions,
            "truth.csv": self.truth_rows,
        }
