"""Field encryption: the cost of one field's encrypt, decrypt and blind index, and what a load pays.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_crypto.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_crypto.py --values 200000 --repeat 7

One process, one core: each operation runs over a list of distinct, realistic
values (emails, E.164 phones, street lines, ISO dates, source payloads of the
generated export's sizes), several times; the best and median per value are printed as
`name key=value ...` lines, then the projection on the seed volume's load
(docs/encryption.md explains the counts it multiplies).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from functools import partial
from typing import Any

import orjson
from sqlalchemy.dialects import postgresql, sqlite

from amigo.core.crypto import (
    BlindIndex,
    EncryptedDate,
    EncryptedText,
    FieldCipher,
    FieldCrypto,
    KeyRing,
    new_key,
    using_crypto,
)

# The seed volume's load (docs/BENCHMARKS.md, run of 2026-12-02 19:03).
GOLDEN_PROFILES = 1_746_235  # one per source customer record on a first load
SOURCE_CUSTOMERS = 1_756_897  # cegid 742,004 + shopify 690,646 + web forms 324,247
SHOPIFY_ORDERS = 1_371_885  # the order payloads that name their buyer (email, addresses)
ALL_SOURCE_RECORDS = 19_198_846
REJECTS = 132_591
# Entities whose payload names a person: rows, average JSON bytes (a 2,000-customer export).
PAYLOADS = {
    "cegid customers": (742_004, 400),
    "shopify customers": (690_646, 1300),
    "webforms submissions": (324_247, 530),
    "shopify orders": (SHOPIFY_ORDERS, 1800),
}
LOAD_SECONDS = 896.1
TARGET_SECONDS = 900.0
LOAD_WORKERS = 2  # the customer files load as two parts side by side on the two cores


def _values(count: int) -> dict[str, list[str]]:
    streets = ["rue de la République", "Via Monte Napoleone", "Calle de Serrano", "Omotesando"]
    return {
        "email": [f"prenom.nom{n}@exemple-{n % 97}.fr" for n in range(count)],
        "phone": [f"+3361{n:07d}" for n in range(count)],
        "address_line1": [f"{n % 300 + 1} {streets[n % 4]}" for n in range(count)],
        "birth_date": [
            (date(1950, 1, 1) + timedelta(days=n % 20000)).isoformat() for n in range(count)
        ],
    }


def _payloads(count: int, size: int) -> list[bytes]:
    filler = "x" * max(0, size - 80)
    return [
        orjson.dumps({"id": n, "email": f"p{n}@example.org", "note": filler}) for n in range(count)
    ]


def _timed(
    operation: Callable[[Any], Any], items: Sequence[Any], repeat: int
) -> tuple[tuple[float, float], list[Any]]:
    """Apply the operation to every item `repeat` times; return (best, median) ns per item and the outputs."""
    timings = []
    outputs: list[Any] = []
    for _ in range(repeat):
        started = time.perf_counter_ns()
        outputs = [operation(item) for item in items]
        timings.append((time.perf_counter_ns() - started) / len(items))
    # The best run is the operation's own cost; the median also carries the other
    # processes sharing the cores (both are printed, the projection uses the best).
    return (min(timings), statistics.median(timings)), outputs


def _report(results: dict[str, float], key: str, ns: tuple[float, float], line: str) -> None:
    results[key] = ns[0]
    print(f"{line} us_best={ns[0] / 1000:.2f} us_median={ns[1] / 1000:.2f}")


def _measure_fields(
    crypto: FieldCrypto, count: int, repeat: int, results: dict[str, float]
) -> None:
    cipher, index = crypto.cipher, crypto.index
    for name, values in _values(count).items():
        field = f"golden_customer.{name}"
        ns, stored = _timed(partial(cipher.encrypt, field=field), values, repeat)
        _report(results, f"encrypt_{name}", ns, f"encrypt field={name} chars={len(stored[0])}")
        ns, _ = _timed(partial(cipher.decrypt, field=field), stored, repeat)
        _report(results, f"decrypt_{name}", ns, f"decrypt field={name}")
        ns, _ = _timed(partial(index.compute, field=name), values, repeat)
        _report(results, f"index_{name}", ns, f"blind_index field={name}")
    ns, _ = _timed(str, values, repeat)
    _report(results, "baseline", ns, "baseline str(value)")


def _measure_types(crypto: FieldCrypto, count: int, repeat: int, results: dict[str, float]) -> None:
    # Through the column types' bind and result processors, as the loader's bulk
    # statements and SQLAlchemy's result rows call them.
    emails = _values(count)["email"]
    dates = [date(1950, 1, 1) + timedelta(days=n % 20000) for n in range(count)]
    with using_crypto(crypto):
        for dialect in (sqlite.dialect(), postgresql.dialect()):
            column = EncryptedText("golden_customer.email")
            bind = column._cached_bind_processor(dialect)
            result = column._cached_result_processor(dialect, None)
            if bind is None or result is None:
                raise SystemExit("EncryptedText has no bind or result processor")
            ns, stored = _timed(bind, emails, repeat)
            _report(
                results,
                f"type_bind_{dialect.name}",
                ns,
                f"EncryptedText.bind dialect={dialect.name}",
            )
            ns, _ = _timed(result, stored, repeat)
            _report(
                results,
                f"type_result_{dialect.name}",
                ns,
                f"EncryptedText.result dialect={dialect.name}",
            )
        date_bind = EncryptedDate("golden_customer.birth_date")._cached_bind_processor(
            sqlite.dialect()
        )
        if date_bind is None:
            raise SystemExit("EncryptedDate has no bind processor")
        ns, _ = _timed(date_bind, dates, repeat)
        _report(results, "type_bind_date", ns, "EncryptedDate.bind")


def _measure_payloads(
    crypto: FieldCrypto, count: int, repeat: int, results: dict[str, float]
) -> None:
    field = "source_record.payload"
    for size in sorted({size for _, size in PAYLOADS.values()}):
        payloads = _payloads(max(count // 4, 1000), size)
        ns, sealed = _timed(partial(crypto.cipher.encrypt_bytes, field=field), payloads, repeat)
        _report(results, f"payload_encrypt_{size}", ns, f"payload_encrypt bytes={size}")
        ns, _ = _timed(partial(crypto.cipher.decrypt_bytes, field=field), sealed, repeat)
        _report(results, f"payload_decrypt_{size}", ns, f"payload_decrypt bytes={size}")


def _measure_grouped(
    crypto: FieldCrypto, count: int, repeat: int, results: dict[str, float]
) -> None:
    # The alternative for a row whose identifiers are always read together (an
    # identity link's snapshot): one sealed JSON object instead of one value each.
    values = _values(count)
    rows = [
        {
            "email": values["email"][n],
            "email_match_key": values["email"][n],
            "phone": values["phone"][n],
            "birth_date": values["birth_date"][n],
            "address_line1": values["address_line1"][n],
            "address_line2": None,
            "distinct_local_part": values["email"][n].split("@")[0],
        }
        for n in range(count)
    ]
    field = "identity_link.sealed"

    def seal(row: dict[str, Any]) -> bytes:
        return crypto.cipher.encrypt_bytes(orjson.dumps(row), field=field)

    def unseal(blob: bytes) -> Any:
        return orjson.loads(crypto.cipher.decrypt_bytes(blob, field=field))

    ns, sealed = _timed(seal, rows, repeat)
    _report(results, "group_encrypt", ns, f"group_encrypt fields=7 bytes={len(sealed[0])}")
    ns, _ = _timed(unseal, sealed, repeat)
    _report(results, "group_decrypt", ns, "group_decrypt fields=7")


def measure(count: int, repeat: int) -> dict[str, float]:
    """Time each operation over `count` distinct values; return the best ns per value."""
    crypto = FieldCrypto(
        FieldCipher(KeyRing.parse(f"k2:{new_key()},k1:{new_key()}")), BlindIndex(os.urandom(32))
    )
    results: dict[str, float] = {}
    _measure_fields(crypto, count, repeat, results)
    _measure_types(crypto, count, repeat, results)
    _measure_payloads(crypto, count, repeat, results)
    _measure_grouped(crypto, count, repeat, results)
    return results


def project(results: dict[str, float]) -> None:
    """Print what the seed volume's load and resolution would pay, in CPU and wall seconds.

    The counts are the plan's (docs/encryption.md): five fields of the golden
    profile and seven of the identity link encrypted, three blind indexes
    computed per source customer (email, phone, birth date; the profile reuses
    its record's); the payloads of the entities that name a person.
    """
    enc = {
        "email": results["type_bind_sqlite"],  # through the column type, as the loader will
        "phone": results["encrypt_phone"],
        "address": results["encrypt_address_line1"],
        "birth_date": results["type_bind_date"],
    }
    index = (results["index_email"] + results["index_phone"]) / 2
    # The golden profile takes its email and phone indexes from the record it takes them from.
    golden = enc["email"] + enc["phone"] + 2 * enc["address"] + enc["birth_date"]
    # identity_link: email, email match key, phone, birth date, two address lines, local part.
    link = 2 * enc["email"] + enc["phone"] + 2 * enc["address"] + enc["birth_date"]
    link += enc["email"] + 3 * index
    fields = (GOLDEN_PROFILES * golden + SOURCE_CUSTOMERS * link) / 1e9
    payloads = (
        sum(count * results[f"payload_encrypt_{size}"] for count, size in PAYLOADS.values())
        + SHOPIFY_ORDERS * index  # the guest-order contact index
    ) / 1e9
    rejects = REJECTS * results["payload_encrypt_400"] / 1e9
    planned = fields + payloads + rejects
    every_payload = ALL_SOURCE_RECORDS * results["payload_encrypt_400"] / 1e9
    read_back = SOURCE_CUSTOMERS * 5 * results["decrypt_email"] / 1e9
    print(
        f"projection fields_cpu_s={fields:.1f} payloads_cpu_s={payloads:.1f} "
        f"rejects_cpu_s={rejects:.1f} planned_cpu_s={planned:.1f} "
        f"planned_wall_s={planned / LOAD_WORKERS:.1f}"
    )
    print(
        f"projection all_19.2M_payloads_instead_cpu_s={every_payload:.1f} "
        f"resolution_read_decrypt_cpu_s={read_back:.1f}"
    )
    grouped_link = results["group_encrypt"] + 3 * index
    grouped = fields - SOURCE_CUSTOMERS * (link - grouped_link) / 1e9
    print(
        f"projection link_snapshot_sealed_as_one_cpu_s={grouped:.1f} (instead of {fields:.1f}) "
        f"planned_wall_s={(grouped + payloads + rejects) / LOAD_WORKERS:.1f}"
    )
    print(
        f"projection load_now_s={LOAD_SECONDS} target_s={TARGET_SECONDS} "
        f"load_with_encryption_s={LOAD_SECONDS + planned / LOAD_WORKERS:.0f} (spread over "
        f"{LOAD_WORKERS} workers) to {LOAD_SECONDS + planned:.0f} (all on one core)"
    )


def main() -> None:
    """Measure, then project."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=100_000, help="distinct values per field")
    parser.add_argument("--repeat", type=int, default=5, help="runs per operation")
    args = parser.parse_args()
    if os.environ.get("OMP_NUM_THREADS") != "1":
        print("note: run with OMP_NUM_THREADS=1, as the other benchmarks")
    project(measure(args.values, args.repeat))


if __name__ == "__main__":
    main()
