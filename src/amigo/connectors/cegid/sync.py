"""The incremental sync from Y2's web services: receipts by date windows, customers reconciled.

Y2 has no "changed since" query on customers (``docs/cegid.md``). So:

* **Receipts** are read by windows of days (``GetHeaderList`` BeginDate to
  EndDate, store-local; receipts, customer orders and return notices), page by
  page until a short page, each header then read whole (``GetByKey``: lines
  and payments). The customers a page names are fetched with
  ``GetCustomerDetail`` and written first, in the page's transaction, with
  the receipts, lines, payments and the stream's checkpoint. Each run starts
  ``overlap_days`` before the last day it finished, to catch tills that
  synced late; what it reads again is stored already (unchanged).
* **Customers** who changed without buying are caught by a reconciliation
  pass every ``reconcile_hours`` (or on ``--reconcile``): ``SearchCustomerIds``
  per creation store gives every customer's id and LastModificationDate; only
  those whose date differs from the version stored are fetched and written.

Everything goes through ``ingest.service.write_batch`` with the Y2 export
files' specs: the same mapping, screening, rejects, consents and events as
``amigo load``. A record is keyed by its content, so a customer or receipt
read again unchanged writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from amigo.connectors.cegid import translate
from amigo.connectors.cegid.soap import CegidFaultError, Y2Client, document_key
from amigo.connectors.models import BreakerState
from amigo.connectors.resilience import PeerUnavailableError
from amigo.connectors.state import (
    load_checkpoint,
    reset_checkpoint,
    save_breaker,
    save_checkpoint,
    sync_failed,
    sync_started,
    sync_states,
)
from amigo.core.clock import utcnow
from amigo.core.config import CegidSettings, Settings
from amigo.core.db import unit_of_work
from amigo.ingest.catalog import ExportFile
from amigo.ingest.service import (
    FileStats,
    applied_payloads,
    export_file,
    prepare_payloads,
    write_batch,
)
from amigo.privacy.suppression import SuppressionList, list_is_empty, suppression_secret
from amigo.profiles.service import list_stores

CONNECTOR = "cegid"
RECEIPTS = "receipts"
CUSTOMERS = "customers"
CAUSE = "cegid_sync"
ACTOR = "process:cegid-sync"
ORIGIN = "cegid web services"

CUSTOMER_FILE = export_file("cegid/customers.csv")
RECEIPT_FILE = export_file("cegid/receipts.csv")
LINE_FILE = export_file("cegid/receipt_lines.csv")
PAYMENT_FILE = export_file("cegid/receipt_payments.csv")
FILES = (CUSTOMER_FILE, RECEIPT_FILE, LINE_FILE, PAYMENT_FILE)


class SyncProgress(Protocol):
    """Receives the sync's progress (the CLI draws a Rich progress bar from it)."""

    def stage(self, description: str, total: int | None) -> None:
        """A stage started: a run of windows, or a reconciliation pass of stores."""

    def advance(self, description: str) -> None:
        """One window or store of the stage is done."""


class _Quiet:
    def stage(self, description: str, total: int | None) -> None:
        pass

    def advance(self, description: str) -> None:
        pass


@dataclass
class SyncReport:
    """What a sync read and wrote."""

    first_day: date | None = None
    last_day: date | None = None
    windows: int = 0
    pages: int = 0
    receipts: int = 0
    lines: int = 0
    payments: int = 0
    customers_fetched: int = 0
    customers_missing: int = 0  # named by a receipt, refused by GetCustomerDetail
    reconciled: bool = False
    customers_checked: int = 0  # ids read by the reconciliation pass
    truncated_stores: list[str] = field(default_factory=list)
    files: dict[str, FileStats] = field(
        default_factory=lambda: {spec.path: FileStats(file=spec.path) for spec in FILES}
    )
    retries: int = 0
    breaker: str = "closed"
    seconds: float = 0.0

    @property
    def total(self) -> FileStats:
        """Return the sums over the four kinds of record."""
        total = FileStats(file="total")
        for stats in self.files.values():
            total.add(stats.counts())
        return total


@dataclass
class _Page:
    """What one page (or one chunk of reconciled customers) writes in its transaction."""

    customers: dict[str, dict[str, str]] = field(default_factory=dict)
    receipts: list[dict[str, str]] = field(default_factory=list)
    lines: list[dict[str, str]] = field(default_factory=list)
    payments: list[dict[str, str]] = field(default_factory=list)

    @property
    def records(self) -> int:
        return len(self.customers) + len(self.receipts) + len(self.lines) + len(self.payments)


class _Sync:
    def __init__(
        self,
        engine: Engine,
        *,
        client: Y2Client,
        settings: Settings,
        progress: SyncProgress,
        today: date,
    ) -> None:
        self.engine = engine
        self.client = client
        self.settings = settings
        self.cegid: CegidSettings = settings.cegid
        self.progress = progress
        self.today = today
        self.report = SyncReport()
        self.fetched: set[str] = set()  # customers fetched by this run
        # Calls wait on the network: a page's documents and customers are read a few at once.
        self._pool = ThreadPoolExecutor(self.cegid.concurrency, thread_name_prefix="cegid")

    def close(self) -> None:
        """Stop the threads reading from Y2."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    # --- writing -------------------------------------------------------------------

    def _suppression(self, connection: Connection) -> SuppressionList | None:
        if list_is_empty(connection):
            return None
        return SuppressionList(suppression_secret(self.settings.privacy))

    def _write(
        self, connection: Connection, spec: ExportFile, rows: Sequence[dict[str, str]]
    ) -> None:
        if not rows:
            return
        raw, prepared = prepare_payloads(connection, spec=spec, payloads=list(rows))
        stats = self.report.files[spec.path]
        write_batch(
            connection,
            spec=spec,
            chunk=raw,
            prepared=prepared,
            stats=stats,
            suppression=self._suppression(connection),
            origin=ORIGIN,
            consent_actor=ACTOR,
            event_cause=CAUSE,
            event_details={"connector": CONNECTOR},
        )

    def _commit(self, page: _Page, stream: str, checkpoint: dict[str, Any]) -> None:
        """Write a page, customers first, and the checkpoint that follows it, in one transaction."""
        with unit_of_work(self.engine) as session:
            connection = session.connection()
            self._write(connection, CUSTOMER_FILE, list(page.customers.values()))
            self._write(connection, RECEIPT_FILE, page.receipts)
            self._write(connection, LINE_FILE, page.lines)
            self._write(connection, PAYMENT_FILE, page.payments)
            save_checkpoint(
                session=session,
                connector=CONNECTOR,
                stream=stream,
                checkpoint=checkpoint,
                now=utcnow(),
                records=page.records,
            )

    # --- receipts --------------------------------------------------------------------

    def _fetch_customer(self, customer_id: str) -> dict[str, str] | None:
        """Return a customer's row, None when Y2 refuses it (gone, or unreadable)."""
        try:
            data = self.client.customer(customer_id)
        except CegidFaultError:
            # Its receipts are kept raw, rejected as unknown_customer, until it is readable.
            return None
        return None if data is None else translate.customer_row(data)

    def _customers(self, page: _Page, customer_ids: Iterable[str]) -> None:
        """Fetch the customers not fetched yet by this run into the page, several at once."""
        wanted = sorted(set(customer_ids) - self.fetched - set(page.customers))
        for customer_id, row in zip(
            wanted, self._pool.map(self._fetch_customer, wanted), strict=True
        ):
            if row is None:
                self.report.customers_missing += 1
            else:
                page.customers[customer_id] = row
                self.report.customers_fetched += 1
        self.fetched.update(page.customers)

    def _page(self, begin: datetime, end: datetime, index: int) -> tuple[_Page, int]:
        """Read one page of headers, their documents and customers; return it and its size."""
        headers = self.client.header_page(
            begin=begin, end=end, page_index=index, page_size=self.cegid.page_size
        )
        listed = [(header, document_key(header)) for header in headers]
        keys = [key for _header, key in listed if key is not None]
        documents = dict(zip(keys, self._pool.map(self.client.document, keys), strict=True))
        page = _Page()
        named = []
        for header_listed, key in listed:
            if key is None:
                continue
            document = documents[key]
            header = (document or {}).get("Header") or header_listed
            customer_id = translate.text(header.get("CustomerId"))
            if customer_id:
                named.append(customer_id)
            page.receipts.append(translate.receipt_row(header))
            if document is not None:
                page.lines.extend(translate.line_rows(header, document["Lines"]))
                page.payments.extend(translate.payment_rows(header, document["Payments"]))
        self._customers(page, named)
        self.report.pages += 1
        self.report.receipts += len(page.receipts)
        self.report.lines += len(page.lines)
        self.report.payments += len(page.payments)
        return page, len(headers)

    def receipts(self, *, since: date | None, until: date | None) -> None:
        """Read every window from the start day to the last, each page committed with its checkpoint."""
        with unit_of_work(self.engine) as session:
            checkpoint = load_checkpoint(session=session, connector=CONNECTOR, stream=RECEIPTS)
            sync_started(session=session, connector=CONNECTOR, stream=RECEIPTS, now=utcnow())
        last = until or self.today
        page_index = 1
        if since is not None:
            start = since
        elif checkpoint and "window" in checkpoint:  # a run that stopped mid-way
            start = date.fromisoformat(checkpoint["window"])
            page_index = int(checkpoint.get("page", 1))
            if until is None and "until" in checkpoint:
                last = max(last, date.fromisoformat(checkpoint["until"]))
        elif checkpoint and "done_through" in checkpoint:
            done = date.fromisoformat(checkpoint["done_through"])
            start = done - timedelta(days=self.cegid.overlap_days)
        else:
            start = self.today - timedelta(days=self.cegid.initial_days)
        self.report.first_day, self.report.last_day = start, last
        windows = list(_windows(start, last, self.cegid.window_days))
        self.progress.stage("receipts", len(windows))
        for number, (first, final) in enumerate(windows):
            begin = datetime.combine(first, datetime.min.time())
            end = datetime.combine(final, datetime.max.time().replace(microsecond=0))
            while True:
                page, size = self._page(begin, end, page_index)
                short = size < self.cegid.page_size
                if not short:
                    position = {"window": first.isoformat(), "page": page_index + 1}
                elif number + 1 < len(windows):
                    position = {"window": windows[number + 1][0].isoformat(), "page": 1}
                else:
                    position = {"done_through": last.isoformat()}
                if "window" in position:
                    position["until"] = last.isoformat()
                self._commit(page, RECEIPTS, position)
                if short:
                    break
                page_index += 1
            page_index = 1
            self.report.windows += 1
            self.progress.advance(f"receipts {first:%Y-%m-%d}")

    # --- customers -------------------------------------------------------------------

    def reconcile_due(self, forced: bool) -> bool:
        """Say whether a reconciliation pass runs now: forced, unfinished, or its time."""
        with unit_of_work(self.engine) as session:
            checkpoint = load_checkpoint(session=session, connector=CONNECTOR, stream=CUSTOMERS)
        if forced or (checkpoint and "store" in checkpoint):
            return True
        if self.cegid.reconcile_hours <= 0:
            return False
        if not checkpoint or "completed_at" not in checkpoint:
            return True
        completed = datetime.fromisoformat(checkpoint["completed_at"])
        return utcnow() - completed >= timedelta(hours=self.cegid.reconcile_hours)

    def customers(self) -> None:
        """Compare every customer's LastModificationDate to the version stored; fetch the moved."""
        with unit_of_work(self.engine) as session:
            checkpoint = load_checkpoint(session=session, connector=CONNECTOR, stream=CUSTOMERS)
            sync_started(session=session, connector=CONNECTOR, stream=CUSTOMERS, now=utcnow())
            stores = sorted(store.id for store in list_stores(session=session))
        resume = checkpoint.get("store") if checkpoint else None
        if resume is not None and resume in stores:
            stores = stores[stores.index(resume) :]
        self.report.reconciled = True
        self.progress.stage("customers", len(stores))
        for position, store in enumerate(stores):
            found = self.client.search_customers(
                max_results=self.cegid.search_max, creation_store_id=store
            )
            if len(found) >= self.cegid.search_max:
                self.report.truncated_stores.append(store)
            self.report.customers_checked += len(found)
            moved = self._moved(found)
            following = stores[position + 1] if position + 1 < len(stores) else None
            for start in range(0, max(len(moved), 1), self.cegid.page_size):
                page = _Page()
                self._customers(page, moved[start : start + self.cegid.page_size])
                last_chunk = start + self.cegid.page_size >= len(moved)
                if not last_chunk:
                    position_ = {"store": store}  # the store is read again: its rest is moved still
                elif following is not None:
                    position_ = {"store": following}
                else:
                    position_ = {"completed_at": utcnow().isoformat()}
                self._commit(page, CUSTOMERS, position_)
            self.progress.advance(f"customers {store}")

    def _moved(self, found: Iterable[dict[str, Any]]) -> list[str]:
        """Return the ids whose LastModificationDate differs from the stored version's."""
        dates = {}
        for item in found:
            customer_id = translate.text(item.get("CustomerId"))
            if customer_id and customer_id not in self.fetched:
                when = item.get("LastModificationDate") or item.get("LastDateUpdate")
                dates[customer_id] = translate.text(when)
        if not dates:
            return []
        with unit_of_work(self.engine) as session:
            stored = applied_payloads(
                session.connection(), system=CONNECTOR, entity="customer", source_ids=list(dates)
            )
        return [
            customer_id
            for customer_id, when in dates.items()
            if not when or (stored.get(customer_id) or {}).get("LastModificationDate") != when
        ]

    # --- state -----------------------------------------------------------------------

    def failed(self, stream: str, error: Exception) -> None:
        """Record the failure and the breaker's state with the stream."""
        with unit_of_work(self.engine) as session:
            sync_failed(
                session=session, connector=CONNECTOR, stream=stream, error=str(error), now=utcnow()
            )
            self._save_breaker(session, stream)

    def _save_breaker(self, session: Session, stream: str) -> None:
        save_breaker(
            session=session,
            connector=CONNECTOR,
            stream=stream,
            state=self.client.breaker.state,
            now=utcnow(),
        )

    def finished(self, streams: Sequence[str]) -> None:
        """Store the breaker's state with each stream that ran."""
        with unit_of_work(self.engine) as session:
            for stream in streams:
                self._save_breaker(session, stream)


def _windows(first: date, last: date, days: int) -> Iterable[tuple[date, date]]:
    """Yield (first day, last day) of each window from first to last, both included."""
    day = first
    while day <= last:
        yield day, min(day + timedelta(days=days - 1), last)
        day += timedelta(days=days)


def run_sync(
    engine: Engine,
    *,
    client: Y2Client,
    settings: Settings,
    since: date | None = None,
    until: date | None = None,
    reconcile: bool = False,
    restart: bool = False,
    progress: SyncProgress | None = None,
    today: date | None = None,
) -> SyncReport:
    """Sync receipts (and their customers) window by window, then reconcile customers when due."""
    started = time.monotonic()
    _restore_breaker(engine, client)
    sync = _Sync(
        engine,
        client=client,
        settings=settings,
        progress=progress or _Quiet(),
        today=today or utcnow().date(),
    )
    if restart:
        with unit_of_work(engine) as session:
            for stream in (RECEIPTS, CUSTOMERS):
                reset_checkpoint(session=session, connector=CONNECTOR, stream=stream, now=utcnow())
    streams = [RECEIPTS]
    stream = RECEIPTS
    try:
        sync.receipts(since=since, until=until)
        if sync.reconcile_due(reconcile):
            stream = CUSTOMERS
            streams.append(CUSTOMERS)
            sync.customers()
    except Exception as error:
        sync.failed(stream, error)
        _close(sync, started)
        error.add_note(_summary_note(sync.report))
        raise
    sync.finished(streams)
    return _close(sync, started)


def _restore_breaker(engine: Engine, client: Y2Client) -> None:
    """Carry the breaker over from the runs before: refuse at once while it is open.

    A run stops at the first call that fails every retry, so the failures in a
    row that open the breaker are counted across runs (``connector_sync``).
    """
    with unit_of_work(engine) as session:
        states = {s.stream: s for s in sync_states(session=session, connector=CONNECTOR)}
    state = states.get(RECEIPTS)
    if state is None:
        return
    breaker = client.breaker
    if state.breaker_state is BreakerState.OPEN and state.breaker_opened_at is not None:
        waited = (utcnow() - state.breaker_opened_at).total_seconds()
        if waited < breaker.reset_seconds:
            raise PeerUnavailableError(
                f"{breaker.name} is unavailable: {state.consecutive_failures} runs failed in a "
                f"row; the circuit breaker is open for {breaker.reset_seconds - waited:.0f} s more "
                f"(last error: {state.last_error})",
                code="circuit_open",
            )
    # Replayed failures leave it closed; this run's first failure then opens it.
    for _ in range(min(state.consecutive_failures, breaker.failure_threshold - 1)):
        breaker.failed()


def _close(sync: _Sync, started: float) -> SyncReport:
    sync.close()
    sync.report.retries = sync.client.retries
    sync.report.breaker = sync.client.breaker.state.value
    sync.report.seconds = time.monotonic() - started
    return sync.report


def _summary_note(report: SyncReport) -> str:
    total = report.total
    return (
        f"before it stopped: {report.pages} page(s), {report.receipts} receipt(s), "
        f"{total.inserted + total.updated} record(s) written"
    )


__all__ = ["CONNECTOR", "CUSTOMERS", "RECEIPTS", "SyncProgress", "SyncReport", "run_sync"]
