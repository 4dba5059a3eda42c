"""The Shopify backfill: every customer, then every order, read page by page from the Admin API.

Each stream (``customers``, then ``orders``, whose customers must exist
first) is read with cursor pagination, sorted by id, at most 250 nodes a
page and never over Shopify's 1,000-point query cost. A page's nodes are
rewritten in the REST shape (``graphql_shape``) and mapped by a reading
thread while the main thread writes the pages before it through the load's
one path (``ingest.service.write_batch``: raw records, screening against the
erasure suppression list, rejects with their reasons, golden profiles,
consents, orders, events), up to 250 records a transaction, with the
stream's checkpoint (the last page's end cursor) in that transaction: a
backfill killed at any point resumes after the last page it committed, and
a page read twice changes nothing (records are keyed by their content).
``--since`` reads only what changed from a date (``updated_at:>=``).

Shopify failing is ridden out: each call is retried (backoff with jitter, or
the wait Shopify asks for) and paced under the shop's cost bucket by the
client; a page that still cannot be read is asked for again until the
circuit breaker opens, which ends the run with a clear error, the breaker
state and the failure stored with the stream for ``amigo connectors status``.

Once customers were written, they are resolved against the repository as a
load's are (``identity.service.resolve_after_load``), when a match model
exists; otherwise ``amigo identity resolve`` does it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from amigo.connectors import state
from amigo.connectors.models import BreakerState
from amigo.connectors.resilience import CircuitBreaker, PeerUnavailableError
from amigo.connectors.shopify import graphql_shape as shape
from amigo.connectors.shopify import mapping
from amigo.connectors.shopify.admin import AdminClient, CallStats
from amigo.core.clock import utcnow
from amigo.core.config import Settings
from amigo.core.db import unit_of_work
from amigo.core.errors import AmigoError, InvalidInputError
from amigo.identity.service import AfterLoad, resolve_after_load
from amigo.ingest.catalog import ExportFile
from amigo.ingest.facts import MappingResult
from amigo.ingest.prepare import PreparedRow
from amigo.ingest.readers import RawRow
from amigo.ingest.service import (
    FileStats,
    applied_payloads,
    export_file,
    prepare_payloads,
    write_batch,
)
from amigo.privacy.suppression import SuppressionList, list_is_empty, suppression_secret
from amigo.quality.dates import parse_timestamp
from amigo.quality.issues import ValidationIssue

CONNECTOR = "shopify"
STREAMS = ("customers", "orders")
ACTOR = "process:shopify-backfill"
CAUSE = "shopify_backfill"
# Pages are written together up to this many records a transaction: a page of orders holds
# only 32 (the query cost), and a transaction's fixed cost would dominate.
GROUP_RECORDS = 250
_SPECS: dict[str, ExportFile] = {
    "customers": export_file("shopify/customers.jsonl"),
    "orders": export_file("shopify/orders.jsonl"),
}


@dataclass
class StreamReport:
    """What a backfill did on one stream (a resumed run counts the pages before it too)."""

    stream: str
    stats: FileStats
    pages: int = 0
    resumed_pages: int = 0  # pages a previous, interrupted run had committed
    resumed_reads: int = 0  # nodes those pages held
    done: bool = False


@dataclass
class BackfillReport:
    """The outcome of one `amigo connectors shopify backfill`."""

    shop: str
    since: datetime | None
    started_at: datetime
    streams: list[StreamReport] = field(default_factory=list)
    calls: CallStats = field(default_factory=CallStats)
    seconds: float = 0.0
    resolution: AfterLoad | None = None

    @property
    def records_read(self) -> int:
        """Return the customers and orders read by this run (resumed pages not counted)."""
        return sum(s.stats.read - s.resumed_reads for s in self.streams)


class BackfillProgress(Protocol):
    """Receives a backfill's progress (the CLI draws a Rich bar per stream from it)."""

    def stream_started(self, stream: str, resumed: StreamReport) -> None:
        """A stream starts, after ``resumed.pages`` pages a previous run committed."""

    def page_written(self, stream: str, report: StreamReport, rows: int) -> None:
        """A page of ``rows`` nodes was committed."""

    def stream_finished(self, report: StreamReport) -> None:
        """The stream's last page was committed."""


class _NoProgress:
    def stream_started(self, stream: str, resumed: StreamReport) -> None:
        pass

    def page_written(self, stream: str, report: StreamReport, rows: int) -> None:
        pass

    def stream_finished(self, report: StreamReport) -> None:
        pass


def filter_since(since: datetime | None) -> str | None:
    """Return the search query that selects what changed from ``since``."""
    if since is None:
        return None
    return f"updated_at:>='{since.isoformat()}'"


def _updated_at(payload: dict[str, Any]) -> datetime | None:
    value = payload.get("updated_at")
    return parse_timestamp(value, field="updated_at").value if isinstance(value, str) else None


@dataclass
class _Page:
    payloads: list[dict[str, Any]]
    end_cursor: str | None
    has_next: bool
    # Keyed, hashed and mapped by the reading thread, before the page's transaction.
    rows: list[RawRow] = field(default_factory=list)
    prepared: list[PreparedRow] = field(default_factory=list)
    pages: int = 1  # Shopify pages it holds (several are written in one transaction)


def _merged(pages: list[_Page]) -> _Page:
    """Return consecutive pages as one, to be written in one transaction."""
    if len(pages) == 1:
        return pages[0]
    last = pages[-1]
    return _Page(
        payloads=[payload for page in pages for payload in page.payloads],
        end_cursor=last.end_cursor,
        has_next=last.has_next,
        rows=[row for page in pages for row in page.rows],
        prepared=[item for page in pages for item in page.prepared],
        pages=len(pages),
    )


class Backfill:
    """One run over the streams, with one client and its breaker."""

    def __init__(
        self,
        *,
        engine: Engine,
        client: AdminClient,
        settings: Settings,
        progress: BackfillProgress | None = None,
        clock: Callable[[], datetime] = utcnow,
        failure_threshold: int = 5,
        reset_seconds: float = 60.0,
    ) -> None:
        self.engine = engine
        self.client = client
        self.settings = settings
        self.progress = progress or _NoProgress()
        self.clock = clock
        self._breaker_changes: list[BreakerState] = []
        # The client's calls go through this breaker; its changes are stored with the stream.
        self.breaker = CircuitBreaker(
            f"Shopify Admin API of {client.shop_domain}",
            failure_threshold=failure_threshold,
            reset_seconds=reset_seconds,
            on_change=self._breaker_changed,
        )
        client.breaker = self.breaker

    def _breaker_changed(self, new_state: BreakerState, _failures: int) -> None:
        self._breaker_changes.append(new_state)

    def _store_breaker(self, session: Session, stream: str) -> None:
        for change in self._breaker_changes:
            state.save_breaker(
                session=session, connector=CONNECTOR, stream=stream, state=change, now=self.clock()
            )
        self._breaker_changes.clear()

    # ------------------------------------------------------------ the run

    def run(
        self,
        *,
        streams: Sequence[str] = STREAMS,
        since: datetime | None = None,
        restart: bool = False,
    ) -> BackfillReport:
        """Backfill the streams in order; resolve the customers written if a model exists."""
        unknown = [s for s in streams if s not in _SPECS]
        if unknown:
            raise InvalidInputError(f"no stream {', '.join(unknown)}: customers or orders")
        started = time.perf_counter()
        report = BackfillReport(shop=self.client.shop_domain, since=since, started_at=self.clock())
        report.calls = self.client.stats
        self._refuse_if_open(streams)
        chosen = [s for s in STREAMS if s in streams]
        query = filter_since(since)
        saved = self._checkpoints(chosen)
        # An unfinished run of the same filter is resumed: its finished streams are not read again.
        unfinished = [
            c for c in saved.values() if c and not c.get("done") and c.get("query") == query
        ]
        run_id = (
            str(unfinished[0].get("run"))
            if unfinished and not restart
            else report.started_at.isoformat()
        )
        try:
            for stream in chosen:
                previous = saved.get(stream)
                resumed = previous if previous and previous.get("run") == run_id else None
                report.streams.append(
                    self._stream(stream, query=query, run_id=run_id, saved=resumed)
                )
        finally:
            report.seconds = time.perf_counter() - started
        if "customers" in streams:
            # From the run's first start: a resumed run resolves what the interrupted one wrote.
            first_start = min(report.started_at, datetime.fromisoformat(run_id))
            with unit_of_work(self.engine) as session:
                report.resolution = resolve_after_load(
                    session=session, since=first_start, settings=self.settings.identity
                )
        return report

    def _refuse_if_open(self, streams: Sequence[str]) -> None:
        """Refuse at once while a previous run's breaker is open (no call is made)."""
        with unit_of_work(self.engine) as session:
            states = state.sync_states(session=session, connector=CONNECTOR)
        now = self.clock()
        for found in states:
            if found.stream not in streams or found.breaker_state is not BreakerState.OPEN:
                continue
            opened = found.breaker_opened_at
            if opened is None:
                continue
            left = self.breaker.reset_seconds - (now - opened).total_seconds()
            if left > 0:
                raise PeerUnavailableError(
                    f"{self.breaker.name} is unavailable: its circuit breaker opened at "
                    f"{opened.isoformat(timespec='seconds')} and stays open {left:.0f} s more "
                    f"(last error: {found.last_error or 'unknown'})",
                    code="circuit_open",
                )

    def _checkpoints(self, streams: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        with unit_of_work(self.engine) as session:
            return {
                stream: state.load_checkpoint(session=session, connector=CONNECTOR, stream=stream)
                for stream in streams
            }

    def _stream(
        self, stream: str, *, query: str | None, run_id: str, saved: dict[str, Any] | None
    ) -> StreamReport:
        """Read a stream to its end, after the pages ``saved`` says this run committed."""
        spec = _SPECS[stream]
        report = StreamReport(stream=stream, stats=FileStats(file=stream))
        cursor = None
        if saved is not None:
            cursor = saved.get("cursor")
            report.pages = report.resumed_pages = int(saved.get("pages", 0))
            report.stats.add(saved.get("stats", {}))
            report.resumed_reads = report.stats.read
            if saved.get("done"):  # finished before the interruption
                report.done = True
                self.progress.stream_started(stream, report)
                self.progress.stream_finished(report)
                return report
        with unit_of_work(self.engine) as session:
            state.sync_started(
                session=session, connector=CONNECTOR, stream=stream, now=self.clock()
            )
            suppression = (
                None
                if list_is_empty(session.connection())
                else SuppressionList(suppression_secret(self.settings.privacy))
            )
        self.progress.stream_started(stream, report)
        # One thread reads the next page from Shopify while this one writes the page it has.
        reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shopify-backfill-read")
        try:
            ahead: Future[_Page] | None = reader.submit(self._read, stream, cursor, query)
            while ahead is not None:
                group: list[_Page] = []
                failure: AmigoError | None = None
                while ahead is not None and sum(len(p.payloads) for p in group) < GROUP_RECORDS:
                    try:
                        page = ahead.result()
                    except AmigoError as error:
                        failure, ahead = error, None
                        break
                    group.append(page)
                    more = page.has_next and page.end_cursor is not None
                    ahead = (
                        reader.submit(self._read, stream, page.end_cursor, query) if more else None
                    )
                if group:  # what was read before a failure is kept
                    merged = _merged(group)
                    self._commit(
                        merged,
                        stream=stream,
                        spec=spec,
                        report=report,
                        suppression=suppression,
                        query=query,
                        run_id=run_id,
                        cursor=cursor,
                    )
                    cursor = merged.end_cursor or cursor
                if failure is not None:
                    self._failed(stream, failure)
                    raise failure
        finally:
            reader.shutdown(wait=False, cancel_futures=True)
        report.done = True
        self.progress.stream_finished(report)
        return report

    def _commit(
        self,
        page: _Page,
        *,
        stream: str,
        spec: ExportFile,
        report: StreamReport,
        suppression: SuppressionList | None,
        query: str | None,
        run_id: str,
        cursor: str | None,
    ) -> None:
        """Write a page and the stream's checkpoint after it, in one transaction."""
        with unit_of_work(self.engine) as session:
            self._write(session, spec, page, report.stats, suppression)
            report.pages += page.pages
            newest = max(
                (t for t in map(_updated_at, page.payloads) if t is not None), default=None
            )
            state.save_checkpoint(
                session=session,
                connector=CONNECTOR,
                stream=stream,
                checkpoint={
                    "cursor": page.end_cursor or cursor,
                    "query": query,
                    "run": run_id,
                    "pages": report.pages,
                    "stats": report.stats.counts(),
                    "done": not page.has_next,
                },
                now=self.clock(),
                records=len(page.payloads),
                last_change_at=newest,
            )
            self._store_breaker(session, stream)
        self.progress.page_written(stream, report, len(page.payloads))

    # ------------------------------------------------------------ reading

    def _read(self, stream: str, cursor: str | None, query: str | None) -> _Page:
        """Read one page; while the peer fails, ask again until the breaker opens."""
        while True:
            try:
                page = self._fetch(stream, cursor, query)
            except PeerUnavailableError as error:
                if error.code != "circuit_open":
                    continue  # every retry failed: counted on the breaker; try again
                raise
            if page.payloads:
                # Mapped here, while the other thread writes (SQLite and psycopg release the GIL).
                with self.engine.connect() as connection:
                    page.rows, page.prepared = prepare_payloads(
                        connection, spec=_SPECS[stream], payloads=page.payloads
                    )
            return page

    def _failed(self, stream: str, error: AmigoError) -> None:
        with unit_of_work(self.engine) as session:
            state.sync_failed(
                session=session,
                connector=CONNECTOR,
                stream=stream,
                error=error.message,
                now=self.clock(),
            )
            self._store_breaker(session, stream)

    def _fetch(self, stream: str, cursor: str | None, query: str | None) -> _Page:
        wanted = self.settings.shopify.page_size
        if stream == "customers":
            data = self.client.graphql(
                shape.CUSTOMERS_QUERY,
                {
                    "first": shape.page_size(wanted, shape.CUSTOMER_NODE_COST),
                    "after": cursor,
                    "query": query,
                },
            )
            connection = data.get("customers") or {}
            payloads = [shape.customer_payload(n) for n in connection.get("nodes") or []]
        else:
            data = self.client.graphql(
                shape.ORDERS_QUERY,
                {
                    "first": shape.page_size(wanted, shape.ORDER_NODE_COST),
                    "after": cursor,
                    "query": query,
                    "lines": shape.ORDER_LINES,
                },
            )
            connection = data.get("orders") or {}
            payloads = [
                shape.order_payload(node, self._all_lines(node))
                for node in connection.get("nodes") or []
            ]
        info = connection.get("pageInfo") or {}
        return _Page(payloads, info.get("endCursor"), bool(info.get("hasNextPage")))

    def _all_lines(self, order: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Return every line of an order that has more than the query read, else None."""
        items = order.get("lineItems") or {}
        info = items.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            return None
        lines = shape.line_nodes(items)
        after = info.get("endCursor")
        while after:
            data = self.client.graphql(
                shape.ORDER_LINES_QUERY,
                {"id": order.get("id"), "first": shape.MORE_LINES, "after": after},
            )
            more = (data.get("order") or {}).get("lineItems") or {}
            lines += shape.line_nodes(more)
            page = more.get("pageInfo") or {}
            after = page.get("endCursor") if page.get("hasNextPage") else None
        return lines

    # ------------------------------------------------------------ writing

    def _write(
        self,
        session: Session,
        spec: ExportFile,
        page: _Page,
        stats: FileStats,
        suppression: SuppressionList | None,
    ) -> None:
        """Write a page through the load's path, versions older than the applied one rejected."""
        if not page.payloads:
            return
        connection = session.connection()
        rows, prepared = page.rows, page.prepared
        stale = _stale(connection, spec.entity, page.payloads)
        for index, issue in stale.items():
            result = prepared[index].result
            if result is not None and result.reject is None:
                prepared[index].result = MappingResult(None, result.issues, reject=issue)
        write_batch(
            connection,
            spec=spec,
            chunk=rows,
            prepared=prepared,
            stats=stats,
            suppression=suppression,
            origin=f"shopify backfill of {self.client.shop_domain} ({spec.entity}s)",
            consent_actor=ACTOR,
            event_cause=CAUSE,
            event_details={"backfill": self.client.shop_domain},
        )


def _stale(
    connection: Connection, entity: str, payloads: list[dict[str, Any]]
) -> dict[int, ValidationIssue]:
    """Return, by position, the payloads older than the version applied (a webhook's, say)."""
    keys = {i: mapping.resource_key(p) for i, p in enumerate(payloads)}
    applied = applied_payloads(
        connection,
        system=mapping.SOURCE,
        entity=entity,
        source_ids=[k for k in keys.values() if k is not None],
    )
    stale: dict[int, ValidationIssue] = {}
    for index, key in keys.items():
        current = None if key is None or key not in applied else _updated_at(applied[key])
        version = _updated_at(payloads[index])
        if current is not None and version is not None and version < current:
            stale[index] = ValidationIssue(
                field="updated_at",
                code="stale_version",
                message=f"this version ({version.isoformat()}) is older than the one applied "
                f"({current.isoformat()}): kept raw, not applied",
                value=None,
            )
    return stale


__all__ = [
    "CONNECTOR",
    "STREAMS",
    "Backfill",
    "BackfillProgress",
    "BackfillReport",
    "StreamReport",
    "filter_since",
]
