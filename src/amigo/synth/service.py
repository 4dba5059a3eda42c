"""Generate a synthetic multi-source export directory with its ground truth."""

from __future__ import annotations

import contextlib
import csv
import math
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from amigo.core.errors import InvalidInputError
from amigo.synth import cegid
from amigo.synth.catalog import Store, build_products, build_stores, product_count
from amigo.synth.names import Weighted
from amigo.synth.options import GenerationSummary, NoiseOptions
from amigo.synth.people import Person, PersonFactory
from amigo.synth.records import Identity, Renderer, SourceProfile
from amigo.synth.shopify import OrderTotals, ShopifyWriter, order_times
from amigo.synth.timefmt import (
    CEGID_START_TS,
    DAY,
    HISTORY_START_TS,
    REF_TS,
    SHOPIFY_START_TS,
    WEBFORMS_START_TS,
    cegid_local,
    daytime,
)
from amigo.synth.webforms import FORM_PROFILES, FORMS, WebformsWriter

ProgressCallback = Callable[[str, int, int], None]

CEGID_PROFILE = SourceProfile(0.85, 0.82, 0.6, 0.55, 0.75, 0.15, phone_e164=False)
# Staff abroad type a visiting customer's name in Latin letters.
CEGID_ABROAD_PROFILE = SourceProfile(0.9, 0.7, 0.0, 0.3, 0.6, 0.95, phone_e164=False)
SHOPIFY_PROFILE = SourceProfile(0.995, 0.45, 0.0, 0.0, 0.8, 0.5, phone_e164=True)

# Mean orders of one account for an average person (activity 1), tuned so that
# receipts plus Shopify orders average ~2.9 per person, as in the real base.
RECEIPTS_PER_ACCOUNT = 3.05
ORDERS_PER_ACCOUNT = 2.3
INTERACTIONS_PER_PERSON = 7.25
ANONYMOUS_RECEIPT_RATE = 0.09  # per identified receipt: tourists, people who decline
GUEST_CHECKOUT_RATE = 0.08  # per person: an order placed without logging in
# Per web account opened after a store card: staff linked the two at the till,
# and the Shopify customer carries the Y2 card number as a tag ("y2:PAR01000123").
LINKED_CARD_RATE = 0.10
PROSPECT_RATE = 0.15
BAD_ROW_RATE = 0.005
CEGID_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")

FILES = (
    "cegid/stores.csv",
    "cegid/sales_associates.csv",
    "cegid/products.csv",
    "cegid/customers.csv",
    "cegid/receipts.csv",
    "cegid/receipt_lines.csv",
    "cegid/receipt_payments.csv",
    "shopify/customers.jsonl",
    "shopify/orders.jsonl",
    "webforms/submissions.jsonl",
    "webforms/interactions.jsonl",
    "truth.csv",
)


def poisson(rng: random.Random, lam: float) -> int:
    """Draw a Poisson count (Knuth's method; normal approximation for large means)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit = math.exp(-lam)
    k, p = 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class BadRows:
    """Decide where the deliberately broken rows go: ~0.5% of each file, the first early.

    Gaps are geometric, so the decision costs one draw per bad row rather than
    one per row, and small runs still get at least one of each kind.
    """

    def __init__(self, rng: random.Random, rate: float = BAD_ROW_RATE) -> None:
        self._rng = rng
        self._rate = rate
        self._seen: dict[str, int] = {}
        self._next: dict[str, int] = {}
        self.written: dict[str, int] = {}

    def due(self, kind: str, rows: int = 1) -> int:
        """Count `rows` new good rows of `kind`; return how many bad rows to add now."""
        seen = self._seen.get(kind, 0) + rows
        self._seen[kind] = seen
        target = self._next.get(kind)
        if target is None:
            target = 10 + self._rng.randrange(50)
        bad = 0
        while seen >= target:
            bad += 1
            gap = math.log(1.0 - self._rng.random()) / math.log(1.0 - self._rate)
            target += 1 + int(gap)
        self._next[kind] = target
        if bad:
            self.written[kind] = self.written.get(kind, 0) + bad
        return bad


@dataclass(slots=True)
class _Stub:
    source: str
    created: int
    duplicate: bool
    store: Store | None = None
    form: str = ""


class _Outputs:
    """The open files of a run, written under a temporary directory."""

    def __init__(self, stack: contextlib.ExitStack, root: Path, cegid_encoding: str) -> None:
        for sub in ("cegid", "shopify", "webforms"):
            (root / sub).mkdir(parents=True, exist_ok=True)

        def text(path: str, encoding: str) -> IO[str]:
            # errors="replace": cp1252 cannot hold CJK names; a real export writes '?'.
            return stack.enter_context(
                open(
                    root / path,
                    "w",
                    encoding=encoding,
                    errors="replace",
                    newline="",
                    buffering=1 << 20,
                )
            )

        def binary(path: str) -> IO[bytes]:
            return stack.enter_context(open(root / path, "wb", buffering=1 << 20))

        def y2(path: str, header: tuple[str, ...]) -> cegid.RowWriter:
            # Y2's back office writes ';'-separated CSV with Windows line ends.
            writer = csv.writer(text(path, cegid_encoding), delimiter=";", lineterminator="\r\n")
            writer.writerow(header)
            return writer

        self.stores = y2("cegid/stores.csv", cegid.STORE_COLUMNS)
        self.associates = y2("cegid/sales_associates.csv", cegid.ASSOCIATE_COLUMNS)
        self.products = y2("cegid/products.csv", cegid.PRODUCT_COLUMNS)
        self.customers = y2("cegid/customers.csv", cegid.CUSTOMER_COLUMNS)
        self.receipts = y2("cegid/receipts.csv", cegid.RECEIPT_COLUMNS)
        self.lines = y2("cegid/receipt_lines.csv", cegid.LINE_COLUMNS)
        self.payments = y2("cegid/receipt_payments.csv", cegid.PAYMENT_COLUMNS)
        self.shopify_customers = binary("shopify/customers.jsonl")
        self.shopify_orders = binary("shopify/orders.jsonl")
        self.submissions = binary("webforms/submissions.jsonl")
        self.interactions = binary("webforms/interactions.jsonl")
        self.truth = csv.writer(text("truth.csv", "utf-8"), lineterminator="\n")
        self.truth.writerow(("source", "entity", "source_id", "person_id"))


class _Generator:
    """Stream people one at a time into every source file."""

    def __init__(self, *, customers: int, seed: int, noise: NoiseOptions, out: _Outputs) -> None:
        def stream(name: str) -> random.Random:
            # Separate streams: changing how one thing is drawn leaves the others alone.
            return random.Random(f"amigo-synth:{seed}:{name}")

        self.customers = customers
        self.noise = noise
        self.out = out
        self.rng = stream("records")
        self.stores = build_stores(stream("stores"))
        self.store_by_id = {s.store_id: s for s in self.stores}
        self.paris = Weighted(
            [self.store_by_id[s] for s in ("PAR01", "PAR02", "PAR03")], [0.5, 0.25, 0.25]
        )
        self.products = build_products(stream("products"), product_count(customers))
        self.people = PersonFactory(rng=stream("people"), noise=noise)
        self.renderer = Renderer(rng=stream("noise"), noise=noise)
        self.bad = BadRows(stream("bad"))
        self.sales = cegid.SalesWriter(
            rng=stream("receipts"),
            products=self.products,
            receipts=out.receipts,
            lines=out.lines,
            payments=out.payments,
        )
        self.shopify = ShopifyWriter(
            rng=stream("shopify"),
            pick_product=self.sales.pick_product,
            customers_out=out.shopify_customers,
            orders_out=out.shopify_orders,
        )
        self.webforms = WebformsWriter(
            rng=stream("webforms"),
            noise=noise,
            submissions_out=out.submissions,
            interactions_out=out.interactions,
            stores=self.stores,
        )
        self.cegid_numbers: dict[str, int] = {}
        self.cegid_count = 0
        self.truth_count = 0
        self.bad_ids = 0
        self.good_seen: dict[str, int] = {}

    # -- catalog ---------------------------------------------------------------------

    def write_catalog(self) -> None:
        """Write stores, associates and products."""
        out = self.out
        for store in self.stores:
            out.stores.writerow(cegid.store_row(store))
            for a in store.associates:
                out.associates.writerow(
                    [
                        a.salesperson_id,
                        a.first_name,
                        a.last_name,
                        a.store_id,
                        "1" if a.active else "0",
                    ]
                )
        # One associate of a store Y2 does not know: the loader must reject it.
        out.associates.writerow(["VZZZ9901", "Test", "Caisse", "ZZZ99", "1"])
        self.bad.written["cegid/sales_associates.csv"] = 1
        for product in self.products:
            out.products.writerow(cegid.product_row(product))
            for _ in range(self.bad.due("cegid/products.csv")):
                out.products.writerow(
                    ["", product.label, product.family, "", product.season, "", "EUR"]
                )

    # -- people ----------------------------------------------------------------------

    def write_person(self) -> None:
        """Write every record, order and interaction of the next person."""
        rng = self.rng
        person = self.people.make()
        stubs = self._plan(person)
        email2_at = rng.randrange(len(stubs)) if person.email2 else -1
        move_ts = stubs[0].created
        if person.old_address is not None and len(stubs) > 1:
            move_ts = (
                stubs[0].created + 1 + int(rng.random() * (stubs[-1].created - stubs[0].created))
            )
        refs: list[tuple[str, str]] = []
        store_refs: list[tuple[str, str]] = []
        closes_original = any(s.duplicate and s.source == "cegid" for s in stubs)
        for index, stub in enumerate(stubs):
            profile = SHOPIFY_PROFILE
            if stub.source == "cegid":
                abroad = stub.store is not None and stub.store.country != person.country.code
                profile = CEGID_ABROAD_PROFILE if abroad else CEGID_PROFILE
            elif stub.source == "webforms":
                profile = FORM_PROFILES[stub.form]
            identity = self.renderer.render(
                person,
                profile=profile,
                created=stub.created,
                later_record=index > 0,
                use_email2=index == email2_at,
                address_ts=move_ts,
            )
            if stub.source == "cegid":
                closed = closes_original and not stub.duplicate and rng.random() < 0.2
                source_id = self._cegid_account(person, identity, stub, closed)
                store_refs.append(("cegid", source_id))
            elif stub.source == "shopify":
                cards = [sid for system, sid in store_refs if system == "cegid"]
                linked = cards[0] if cards and rng.random() < LINKED_CARD_RATE else None
                source_id = self._shopify_account(person, identity, stub, linked_card=linked)
            else:
                source_id = self.webforms.new_submission_id()
                self.webforms.write_submission(
                    submission_id=source_id,
                    form=stub.form,
                    person=person,
                    identity=identity,
                    ts=stub.created,
                )
            refs.append((stub.source, source_id))
            entity = "submission" if stub.source == "webforms" else "customer"
            self.out.truth.writerow((stub.source, entity, source_id, person.person_id))
            self.truth_count += 1
        if rng.random() < GUEST_CHECKOUT_RATE:
            self._guest_orders(person, stubs[0].created)
        count = poisson(rng, INTERACTIONS_PER_PERSON * (0.4 + 0.6 * person.activity))
        start = max(stubs[0].created, HISTORY_START_TS)
        self.webforms.write_interactions(
            person=person, refs=refs, store_refs=store_refs, count=count, start=start, end=REF_TS
        )
        self._bad_rows(person, max(HISTORY_START_TS, stubs[-1].created))

    def _plan(self, person: Person) -> list[_Stub]:
        rng = self.rng
        share = person.country.cegid_share
        in_cegid = rng.random() < 0.52 * share
        in_shopify = rng.random() < (0.44 if share >= 1 else 0.6)
        in_webforms = rng.random() < 0.16
        if not (in_cegid or in_shopify or in_webforms):
            roll = rng.random() * (0.45 * share + 0.4 + 0.15)
            in_cegid = roll < 0.45 * share
            in_shopify = not in_cegid and roll < 0.45 * share + 0.4
            in_webforms = not (in_cegid or in_shopify)
        dup = self.noise.duplicate_within_source
        stubs: list[_Stub] = []
        if in_cegid:
            created = self._created(CEGID_START_TS)
            stubs.append(_Stub("cegid", created, False, self._cegid_store(person)))
            for _ in range(2):
                if rng.random() >= dup:
                    break
                # Entered again, often at another store that did not find the first card.
                store = stubs[-1].store if rng.random() < 0.6 else self._cegid_store(person)
                stubs.append(_Stub("cegid", self._later(created), True, store))
        if in_shopify:
            created = daytime(self._created(SHOPIFY_START_TS), rng.random(), person.zone)
            stubs.append(_Stub("shopify", created, False))
            if rng.random() < dup:
                later = daytime(self._later(created), rng.random(), person.zone)
                stubs.append(_Stub("shopify", later, True))
        if in_webforms:
            created = daytime(self._created(WEBFORMS_START_TS), rng.random(), person.zone)
            first_form = "newsletter" if rng.random() < 0.6 else FORMS.draw(rng)
            stubs.append(_Stub("webforms", created, False, form=first_form))
            extra = 1 if rng.random() < dup else 0
            while rng.random() < 0.25 and extra < 4:
                extra += 1
            for _ in range(extra):
                later = daytime(self._later(created), rng.random(), person.zone)
                stubs.append(_Stub("webforms", later, True, form=FORMS.draw(rng)))
        stubs.sort(key=lambda s: s.created)
        return stubs

    def _created(self, start: int) -> int:
        # sqrt skews towards recent dates: the customer base grows over time.
        return start + int(math.sqrt(self.rng.random()) * (REF_TS - DAY - start))

    def _later(self, created: int) -> int:
        return created + int(self.rng.random() * (REF_TS - DAY - created))

    def _cegid_store(self, person: Person) -> Store:
        rng = self.rng
        if person.home_store and rng.random() >= 0.05:
            return self.store_by_id[person.home_store]
        if rng.random() < 0.7:
            return self.paris.draw(rng)
        return self.stores[int(rng.random() * len(self.stores))]

    # -- accounts --------------------------------------------------------------------

    def _cegid_account(self, person: Person, identity: Identity, stub: _Stub, closed: bool) -> str:
        rng = self.rng
        store = stub.store or self.stores[0]
        number = self.cegid_numbers.get(store.store_id, 0) + 1
        self.cegid_numbers[store.store_id] = number
        customer_id = f"{store.store_id}{number:06d}"
        created = self.sales.store_time(store, stub.created // DAY)
        prospect = not stub.duplicate and rng.random() < PROSPECT_RATE
        lam = RECEIPTS_PER_ACCOUNT * (0.4 if stub.duplicate else 1.0) * person.activity
        count = 0 if prospect else poisson(rng, lam)
        if created >= HISTORY_START_TS and not prospect:
            count = max(count, 1)
        times = order_times(rng, created, count)
        if times and created >= HISTORY_START_TS:
            # The card is created at the till, with the first purchase.
            times[0] = created + 300 + int(rng.random() * 900)
        staff = store.active_associates
        salesperson = staff[int(rng.random() * len(staff))].salesperson_id
        last = max([created, *times])
        modified = min(REF_TS - 60, last + int(rng.random() * 30 * DAY))
        account = cegid.CegidAccount(
            customer_id=customer_id,
            creation_store=store,
            usual_store=store,
            salesperson_id=salesperson if rng.random() < 0.7 else "",
            created=created,
            modified=modified,
            prospect=prospect,
            tier="STANDARD" if stub.duplicate else person.tier,
            closed=closed,
        )
        self.out.customers.writerow(cegid.customer_row(rng, person, identity, account))
        self.cegid_count += 1
        bought: list[tuple[Any, int]] = []
        vip = person.tier == "VIP"
        for index, when in enumerate(times):
            sale_store = store
            if index and rng.random() < 0.1:
                sale_store = self.stores[int(rng.random() * len(self.stores))]
            same_visit = index == 0 and created >= HISTORY_START_TS
            ts = when if same_visit else self.sales.store_time(sale_store, when // DAY)
            sale_staff = sale_store.active_associates
            self.sales.sale(
                store=sale_store,
                ts=ts,
                customer_id=customer_id,
                salesperson_id=sale_staff[int(rng.random() * len(sale_staff))].salesperson_id,
                bought=bought,
                vip=vip,
            )
            if rng.random() < ANONYMOUS_RECEIPT_RATE:
                day = order_times(rng, HISTORY_START_TS, 1)[0] // DAY
                self.sales.sale(
                    store=sale_store,
                    ts=self.sales.store_time(sale_store, day),
                    customer_id="",
                    salesperson_id=sale_staff[0].salesperson_id,
                    bought=[],
                    vip=False,
                )
        return customer_id

    def _shopify_account(
        self, person: Person, identity: Identity, stub: _Stub, *, linked_card: str | None = None
    ) -> str:
        rng = self.rng
        writer = self.shopify
        customer_id = writer.new_customer_id()
        state = writer.draw_state()
        lam = ORDERS_PER_ACCOUNT * (0.4 if stub.duplicate else 1.0) * person.activity
        # Some accounts were opened and never used to buy.
        count = 0 if rng.random() < 0.2 else poisson(rng, lam)
        # Orders happen at waking hours of the customer's zone, after the account exists.
        times = sorted(
            max(stub.created + 60, daytime(t, rng.random(), person.zone))
            for t in order_times(rng, stub.created, count)
        )
        times = [t for t in times if t < REF_TS - 60]
        last = times[-1] if times else stub.created
        updated = min(REF_TS - 60, last + int(rng.random() * 20 * DAY))
        snapshot = writer.customer_stub(customer_id, identity, stub.created, updated, state)
        totals = OrderTotals()
        for ts in times:
            writer.write_order(
                ts=ts,
                person=person,
                identity=identity,
                email=identity.email,
                customer=snapshot,
                totals=totals,
            )
        writer.write_customer(
            customer_id=customer_id,
            person=person,
            identity=identity,
            created=stub.created,
            updated=updated,
            totals=totals,
            state=state,
            extra_tags=(f"y2:{linked_card}",) if linked_card else (),
        )
        return str(customer_id)

    def _guest_orders(self, person: Person, since: int) -> None:
        identity = self.renderer.render(
            person,
            profile=SHOPIFY_PROFILE,
            created=REF_TS,
            later_record=True,
            use_email2=False,
            address_ts=0,
        )
        for ts in order_times(self.rng, since, 1 + (self.rng.random() < 0.3)):
            self.shopify.write_order(
                ts=ts,
                person=person,
                identity=identity,
                email=identity.email or person.email,
                customer=None,
                totals=None,
            )

    # -- rows the loader must reject ---------------------------------------------------

    def _bad_rows(self, person: Person, ts: int) -> None:
        counts = {
            "cegid/customers.csv": self.cegid_count,
            "cegid/receipts.csv": self.sales.receipt_count,
            "cegid/receipt_lines.csv": self.sales.line_count,
            "cegid/receipt_payments.csv": self.sales.payment_count,
            "shopify/customers.jsonl": self.shopify.customer_count,
            "shopify/orders.jsonl": self.shopify.order_count,
            "webforms/submissions.jsonl": self.webforms.submission_count,
            "webforms/interactions.jsonl": self.webforms.interaction_count,
        }
        for kind, total in counts.items():
            good = total - self.bad.written.get(kind, 0)
            for _ in range(self.bad.due(kind, good - self.good_seen.get(kind, 0))):
                self._write_bad(kind, person, ts)
            self.good_seen[kind] = good

    def _write_bad(self, kind: str, person: Person, ts: int) -> None:
        rng, out = self.rng, self.out
        self.bad_ids += 1
        n = self.bad_ids
        store = self.stores[int(rng.random() * len(self.stores))]
        product = self.products[int(rng.random() * len(self.products))]
        when = cegid_local(ts, store.zone)
        if kind == "cegid/customers.csv":
            # A card saved without its code: nothing to key it on.
            row = ["", "MR", person.first[0], person.last[0].upper(), *[""] * 27]
            row[cegid.CUSTOMER_COLUMNS.index("CreationStoreId")] = store.store_id
            row[cegid.CUSTOMER_COLUMNS.index("CreationDate")] = when
            out.customers.writerow(row)
            self.cegid_count += 1
        elif kind == "cegid/receipts.csv":
            # A sale naming a customer code that no export contains.
            self.sales.sale(
                store=store,
                ts=ts,
                customer_id=f"{store.store_id}9{n:06d}",
                salesperson_id=store.associates[0].salesperson_id,
                bought=[],
                vip=False,
            )
        elif kind == "cegid/receipt_lines.csv":
            price = cegid.amount(product.price_eur * 100, 2)
            out.lines.writerow(
                [
                    f"{store.store_id}C9",
                    str(n),
                    "1",
                    product.item_code,
                    product.label,
                    "1",
                    price,
                    price,
                ]
            )
            self.sales.line_count += 1
        elif kind == "cegid/receipt_payments.csv":
            out.payments.writerow(
                [
                    f"{store.store_id}C9",
                    str(n),
                    "1",
                    "CB",
                    "Carte bancaire",
                    "100,00",
                    "EUR",
                    when,
                    "1",
                ]
            )
            self.sales.payment_count += 1
        elif kind == "shopify/customers.jsonl":
            self.shopify.write_bad_customer(ts)
        elif kind == "shopify/orders.jsonl":
            identity = self.renderer.render(
                person,
                profile=SHOPIFY_PROFILE,
                created=ts,
                later_record=False,
                use_email2=False,
                address_ts=0,
            )
            self.shopify.write_order(
                ts=ts,
                person=person,
                identity=identity,
                email="",
                customer=None,
                totals=None,
                bad_customer_id=9_990_000_000_000 + n,
            )
        elif kind == "webforms/submissions.jsonl":
            self.webforms.write_bad_submission(ts)
        else:
            self.webforms.write_bad_interaction(ts)


def generate(
    *,
    customers: int,
    seed: int,
    out_dir: Path,
    noise: NoiseOptions = NoiseOptions(),  # noqa: B008  (frozen, so sharing the default is safe)
    on_progress: ProgressCallback | None = None,
    cegid_encoding: str = "utf-8",
) -> GenerationSummary:
    """Write a synthetic export directory for `customers` people and return what it holds."""
    if isinstance(customers, bool) or not isinstance(customers, int) or customers < 1:
        raise InvalidInputError(f"customers must be a positive integer, got {customers!r}")
    if cegid_encoding not in CEGID_ENCODINGS:
        raise InvalidInputError(
            f"cegid encoding must be one of {', '.join(CEGID_ENCODINGS)}, got {cegid_encoding!r}"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / ".amigo-generate.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    progress = on_progress or (lambda _phase, _done, _total: None)
    try:
        with contextlib.ExitStack() as stack:
            outputs = _Outputs(stack, staging, cegid_encoding)
            generator = _Generator(customers=customers, seed=seed, noise=noise, out=outputs)
            progress("catalog", 0, 1)
            generator.write_catalog()
            progress("catalog", 1, 1)
            step = max(1, customers // 200)
            for done in range(1, customers + 1):
                generator.write_person()
                if done % step == 0 or done == customers:
                    progress("people", done, customers)
        _publish(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _summary(generator, out_dir, customers)


def _publish(staging: Path, out_dir: Path) -> None:
    # Files appear only once complete: a failed run leaves no partial export.
    for relative in FILES:
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / relative, target)


def _summary(g: _Generator, out_dir: Path, customers: int) -> GenerationSummary:
    return GenerationSummary(
        out_dir=out_dir,
        people=customers,
        cegid_customers=g.cegid_count,
        shopify_customers=g.shopify.customer_count,
        submissions=g.webforms.submission_count,
        stores=len(g.stores),
        associates=sum(len(s.associates) for s in g.stores) + 1,
        products=len(g.products) + g.bad.written.get("cegid/products.csv", 0),
        receipts=g.sales.receipt_count,
        receipt_lines=g.sales.line_count,
        receipt_payments=g.sales.payment_count,
        shopify_orders=g.shopify.order_count,
        interactions=g.webforms.interaction_count,
        truth_rows=g.truth_count,
        bad_rows=dict(g.bad.written),
    )
