"""The load job: read an export directory phase by phase, store every record raw, write the repository.

Every batch is one transaction holding its raw records, their effects, their
rejects and the file's checkpoint, so a load killed at any point resumes
where it stopped and ends with the same database as an uninterrupted one.
"""

from __future__ import annotations

import gc
import hashlib
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, delete, select, update

from amigo.consent.initial import needs_initial_projection, project_initial_load
from amigo.core.clock import utcnow
from amigo.core.config import PrivacySettings
from amigo.core.db import make_engine, table_of, unit_of_work
from amigo.core.errors import FileFormatError, InvalidInputError
from amigo.core.sql import (
    bulk_insert,
    insert_ignore,
    insert_returning,
    insert_returning_ids,
    is_one_of,
    upsert,
)
from amigo.events.service import DomainEvent
from amigo.ingest import writers
from amigo.ingest.catalog import ATTACHING_PHASE, CUSTOMER_MAPPERS, EXPORT_FILES, ExportFile
from amigo.ingest.events import LoadedFile, emit_load_summaries
from amigo.ingest.facts import CustomerFacts, MappingContext, MappingResult
from amigo.ingest.indexes import (
    LOOKED_UP_TABLES,
    drop_for_initial_load,
    ensure_secondary_indexes,
    refresh_statistics,
    secondary_indexes_missing,
)
from amigo.ingest.lanes import run_lanes_in_parallel
from amigo.ingest.models import (
    BatchStatus,
    LoadBatch,
    LoadCheckpoint,
    RecordStatus,
    Reject,
    SourceRecord,
    ValidationIssueRecord,
)
from amigo.ingest.prepare import (
    PreparedRow,
    StoreTable,
    canonical_json,
    mapping_context,
    payload_hash,
    prepare_rows,
    prepare_spec_rows,
)
from amigo.ingest.readers import ExportFile as ReaderFile
from amigo.ingest.readers import RawRow, open_csv_export, open_jsonl_export
from amigo.ingest.screening import screen_batch
from amigo.ingest.writers import Pending, WriteContext
from amigo.privacy.suppression import (
    ORDER_CONTACT_SYSTEMS,
    SuppressionList,
    list_is_empty,
    order_contact_index,
    suppression_secret,
)
from amigo.profiles.models import SalesAssociate, Store
from amigo.quality.issues import ValidationIssue

records = table_of(SourceRecord)
PROCESSED, REJECTED = RecordStatus.PROCESSED.value, RecordStatus.REJECTED.value
STATISTICS_AFTER_ROWS = 20_000  # rows of a file loaded before PostgreSQL's statistics matter
rejects_table = table_of(Reject)
issues_table = table_of(ValidationIssueRecord)
checkpoints = table_of(LoadCheckpoint)


@dataclass
class FileStats:
    """What happened to the rows of one file."""

    file: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    suppressed: int = 0  # rows of erased people: not stored, or orders stored without them
    missing: bool = False

    def add(self, other: dict[str, Any]) -> None:
        """Add counts saved in a checkpoint (a resumed load reports whole files)."""
        for name in ("read", "inserted", "updated", "unchanged", "rejected", "suppressed"):
            setattr(self, name, getattr(self, name) + int(other.get(name, 0)))

    def counts(self) -> dict[str, int]:
        """Return the counters only."""
        data = asdict(self)
        return {k: v for k, v in data.items() if k not in {"file", "missing"}}


@dataclass
class LoadReport:
    """The outcome of one `amigo load`."""

    batch_id: int
    directory: Path
    resumed: bool
    files: list[FileStats] = field(default_factory=list)
    raw_consents: int = 0  # consent statements recorded with this run's customer records
    consent_changes: int = 0  # effective consent states the run changed
    started_at: datetime | None = None  # when the batch began (its first run, if resumed)
    ran_before_attaching: bool = False  # the hook given to load_directory, in this run

    @property
    def total(self) -> FileStats:
        """Return the sums over every file."""
        total = FileStats(file="total")
        for stats in self.files:
            total.add(stats.counts())
        return total


class LoadProgress(Protocol):
    """Receives progress of a load (the CLI draws Rich progress bars from it)."""

    def file_started(self, file: str, total_rows: int | None) -> None:
        """Args: file: the export file's relative path; total_rows: rows expected."""

    def rows_done(self, file: str, count: int) -> None:
        """Args: file: as above; count: rows just processed."""

    def file_finished(self, stats: FileStats) -> None:
        """Args: stats: the file's final counts."""


class _NoProgress:
    def file_started(self, file: str, total_rows: int | None) -> None:
        pass

    def rows_done(self, file: str, count: int) -> None:
        pass

    def file_finished(self, stats: FileStats) -> None:
        pass


@dataclass(frozen=True)
class FilePart:
    """A file to load, or one of the parts it is split into to load in several processes.

    Rows go to parts by a hash of their source id, so every version of a
    record lands in the same part and keeps its order in the file: the result
    does not depend on which part runs first.
    """

    spec: ExportFile
    reader: ReaderFile
    index: int = 0
    count: int = 1

    @property
    def key(self) -> str:
        """Return the checkpoint key: the file's path, and the part if it is split."""
        if self.count == 1:
            return self.spec.path
        return f"{self.spec.path}#{self.index + 1}/{self.count}"

    @property
    def expected_rows(self) -> int:
        """Return about how many rows the part holds (to start the longest first)."""
        return self.reader.lines // self.count

    def holds(self, data: dict[str, Any]) -> bool:
        """Tell whether a parsed row belongs to this part (keyless rows: the first part)."""
        source_id = self.spec.mapper.key(data)
        if not source_id:
            return self.index == 0
        return zlib.crc32(source_id.encode("utf-8", "replace")) % self.count == self.index

    def batches(self, start: int, size: int) -> Iterator[tuple[list[RawRow], int]]:
        """Yield the part's rows from row ``start`` on, in batches, each with the rows read so far."""
        if self.count == 1:
            rows = self.reader.rows(start_at=start)
        else:
            # The reader drops other parts' rows right after parsing them; rows
            # that fail to parse go to the first part.
            rows = (
                row
                for row in self.reader.rows(start_at=start, keep=self.holds)
                if row.data is not None or self.index == 0
            )
        chunk: list[RawRow] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == size:
                yield chunk, row.ordinal + 1
                chunk = []
        if chunk:
            yield chunk, chunk[-1].ordinal + 1


def split_into_parts(spec: ExportFile, reader: ReaderFile) -> list[FilePart]:
    """Return the parts a file loads as (one unless the catalog splits it)."""
    return [FilePart(spec, reader, index, spec.parts) for index in range(spec.parts)]


class _PartsProgress:
    """Show a split file as one: one start, every part's rows, one finish with the sums."""

    def __init__(self, progress: LoadProgress, parts: dict[str, int]) -> None:
        self.progress = progress
        self.parts = parts
        self.started: set[str] = set()
        self.finished: dict[str, list[FileStats]] = {}

    def file_started(self, file: str, total_rows: int | None) -> None:
        if file not in self.started:
            self.started.add(file)
            self.progress.file_started(file, total_rows)

    def rows_done(self, file: str, count: int) -> None:
        self.progress.rows_done(file, count)

    def file_finished(self, stats: FileStats) -> None:
        done = self.finished.setdefault(stats.file, [])
        done.append(stats)
        if len(done) == self.parts.get(stats.file, 1):
            self.progress.file_finished(sum_stats(stats.file, done))


def sum_stats(file: str, parts: Iterable[FileStats]) -> FileStats:
    """Return the counts of a file from those of its parts."""
    total = FileStats(file=file)
    for stats in parts:
        total.add(stats.counts())
    return total


def open_export_files(
    directory: Path, *, encoding: str | None = None
) -> list[tuple[ExportFile, ReaderFile | None]]:
    """Validate every file of the directory before anything is written (invariant 8)."""
    if not directory.exists():
        raise InvalidInputError(f"{directory} does not exist", code="missing_directory")
    if not directory.is_dir():
        raise InvalidInputError(f"{directory} is not a directory", code="not_a_directory")
    opened: list[tuple[ExportFile, ReaderFile | None]] = []
    for spec in EXPORT_FILES:
        path = directory / spec.path
        if not path.exists():
            opened.append((spec, None))
            continue
        reader: ReaderFile
        if spec.kind == "csv":
            reader = open_csv_export(path, required_columns=spec.mapper.required, encoding=encoding)
        else:
            reader = open_jsonl_export(path, required_keys=spec.mapper.required)
        opened.append((spec, reader))
    if all(reader is None for _, reader in opened):
        expected = ", ".join(spec.path for spec in EXPORT_FILES[:4])
        raise InvalidInputError(
            f"{directory} holds none of the export files (expected {expected}, ...; "
            "see docs/formats.md)",
            code="empty_export",
        )
    return opened


def _store_table(connection: Connection) -> StoreTable:
    return {
        row.id: (row.timezone, row.country)
        for row in connection.execute(select(Store.id, Store.timezone, Store.country))
    }


def _remap_customer(
    mapping: MappingContext,
) -> Any:
    def remap(system: str, entity: str, payload: dict[str, Any]) -> CustomerFacts | None:
        mapper = CUSTOMER_MAPPERS.get((system, entity))
        if mapper is None:
            return None
        result: MappingResult[CustomerFacts] = mapper.map(payload, mapping)
        return result.facts

    return remap


@dataclass(slots=True)  # not frozen: one per row, see readers.RawRow
class _Work:
    """A row to store and write: new, a new version, or a rejected one tried again."""

    row: RawRow
    source_id: str
    digest: str
    result: MappingResult[Any]
    retried_id: int | None
    outcome: str  # "inserted" or "updated"


@dataclass
class _Batch:
    """The bookkeeping of one batch: keys, versions, outcomes, rejects and issues."""

    spec: ExportFile
    batch_id: int | None
    now: datetime
    stats: FileStats
    reject_rows: list[dict[str, Any]] = field(default_factory=list)
    # Where the rows came from when not from the export file (a webhook delivery).
    origin: str | None = None

    @property
    def system(self) -> str:
        return self.spec.source.value

    @property
    def entity(self) -> str:
        return self.spec.entity

    def reject(
        self, row: RawRow, issue: ValidationIssue, source_id: str | None, record_id: int | None
    ) -> None:
        """Keep a rejected row with its reason and raw text (invariant 1)."""
        self.stats.rejected += 1
        self.reject_rows.append(
            {
                "source_system": self.system,
                "entity": self.entity,
                "source_id": source_id,
                "source_record_id": record_id,
                "reason_code": issue.code,
                "message": issue.message,
                "raw_payload": storable_text(row.raw_text),
                "payload_hash": hashlib.sha256(row.raw_text.encode("utf-8", "replace")).hexdigest(),
                "file": self.origin or self.spec.path,
                "line_number": None if self.origin else row.line_number,
                "batch_id": self.batch_id,
                "created_at": self.now,
            }
        )

    def key_rows(
        self, chunk: Sequence[RawRow], prepared: Sequence[PreparedRow]
    ) -> list[tuple[RawRow, PreparedRow]]:
        """Reject rows that cannot be stored as records; return the others."""
        keyed = []
        for row, item in zip(chunk, prepared, strict=True):
            self.stats.read += 1
            if item.problem is not None:
                self.reject(row, item.problem, None, None)
            else:
                keyed.append((row, item))
        return keyed

    def plan(
        self,
        keyed: list[tuple[RawRow, PreparedRow]],
        versions: dict[str, dict[str, tuple[int, str]]],
    ) -> tuple[list[_Work], list[dict[str, Any]]]:
        """Skip unchanged rows and list the source records to insert."""
        seen_versions: set[tuple[str, str]] = set()
        seen_ids: set[str] = set()
        work: list[_Work] = []
        new_records: list[dict[str, Any]] = []
        system, entity, now, batch_id = self.system, self.entity, self.now, self.batch_id
        # Orders that name a buyer's email get its blind index: the payload is sealed.
        contact = self.spec.writer is writers.write_orders and system in ORDER_CONTACT_SYSTEMS
        for row, item in keyed:
            source_id, digest, result = item.source_id, item.digest, item.result
            if source_id is None or digest is None or result is None:  # pragma: no cover
                raise AssertionError("prepared rows without a problem carry key, hash and result")
            known = versions.get(source_id)
            retried_id = None
            if known is None:  # never seen: most rows of an initial load
                if (source_id, digest) in seen_versions:
                    self.stats.unchanged += 1
                    continue
                outcome = "updated" if source_id in seen_ids else "inserted"
            else:
                if (
                    known.get(digest, (0, ""))[1] == PROCESSED
                    or (source_id, digest) in seen_versions
                ):
                    self.stats.unchanged += 1
                    continue
                loaded_before = any(status == PROCESSED for _, status in known.values())
                outcome = "updated" if loaded_before or source_id in seen_ids else "inserted"
                retried_id = known[digest][0] if digest in known else None
            seen_versions.add((source_id, digest))
            seen_ids.add(source_id)
            work.append(_Work(row, source_id, digest, result, retried_id, outcome))
            if retried_id is None:
                new_records.append(
                    {
                        "source_system": system,
                        "entity": entity,
                        "source_id": source_id,
                        "payload": item.payload_json,
                        "payload_hash": digest,
                        "contact_index": order_contact_index(row.data) if contact else None,
                        "received_at": now,
                        "batch_id": batch_id,
                        "status": REJECTED if result.reject else PROCESSED,
                    }
                )
        return work, new_records

    def settle(
        self,
        connection: Connection,
        work: list[_Work],
        record_ids: list[int],
        late_rejects: dict[int, ValidationIssue],
        writer_issues: list[tuple[int, ValidationIssue]],
    ) -> None:
        """Count outcomes and store statuses, rejects and validation issues."""
        now_rejected: list[int] = []
        retried_ok: list[int] = []
        issue_rows = [_issue_row(rid, self.system, self.entity, i) for rid, i in writer_issues]
        for item, record_id in zip(work, record_ids, strict=True):
            problem = item.result.reject or late_rejects.get(record_id)
            if problem is not None:
                if item.result.reject is None or item.retried_id is not None:
                    now_rejected.append(record_id)
                self.reject(item.row, problem, item.source_id, record_id)
                continue
            if item.retried_id is not None:
                retried_ok.append(record_id)
            setattr(self.stats, item.outcome, getattr(self.stats, item.outcome) + 1)
            issue_rows += [
                _issue_row(record_id, self.system, self.entity, i) for i in item.result.issues
            ]
        _set_status(connection, now_rejected, RecordStatus.REJECTED)
        _set_status(connection, retried_ok, RecordStatus.PROCESSED)
        if retried_ok:
            # A record that now loads is no longer an outstanding reject.
            connection.execute(
                delete(rejects_table).where(rejects_table.c.source_record_id.in_(retried_ok))
            )
        insert_ignore(
            connection,
            rejects_table,
            self.reject_rows,
            conflict_columns=["source_system", "entity", "payload_hash"],
        )
        insert_ignore(
            connection,
            issues_table,
            issue_rows,
            conflict_columns=["source_record_id", "field", "code"],
        )


def _set_status(connection: Connection, record_ids: list[int], status: RecordStatus) -> None:
    if record_ids:
        connection.execute(
            update(records).where(records.c.id.in_(record_ids)).values(status=status.value)
        )


@contextmanager
def _garbage_collector_spared() -> Iterator[None]:
    """Make Python's cycle collector run rarely while a load runs, then as before.

    A load makes millions of short-lived objects (rows, dicts, facts) that hold
    no reference cycles. With the default thresholds the collector runs every
    700 allocations and, every so often, walks the whole heap, SQLAlchemy's and
    the phone-number metadata included. Objects alive at the start are frozen
    out of its walks, and it runs a hundred times less often.
    """
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(70_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class _Loader:
    def __init__(
        self,
        engine: Engine,
        batch_id: int,
        batch_size: int,
        progress: LoadProgress,
        *,
        project_consents: bool = True,
        suppression_secret: str | None = None,
        initial_load: bool = False,
    ) -> None:
        self.engine = engine
        # Set once someone was erased: every batch is screened against the list.
        self.suppression = (
            None if suppression_secret is None else SuppressionList(suppression_secret)
        )
        self.batch_id = batch_id
        self.batch_size = batch_size
        self.progress = progress
        self.project_consents = project_consents
        self.initial_load = initial_load
        self.raw_consents = 0
        self.consent_changes = 0

    @classmethod
    def for_job(cls, engine: Engine, job: LaneJob, progress: LoadProgress) -> _Loader:
        """Return the loader of a lane job, in this process or a worker."""
        return cls(
            engine,
            job.batch_id,
            job.batch_size,
            progress,
            project_consents=job.project_consents,
            suppression_secret=job.suppression_secret,
            initial_load=job.initial_load,
        )

    # ------------------------------------------------------------ files

    def load_file(self, part: FilePart, resume: dict[str, Any] | None) -> FileStats:
        spec, reader = part.spec, part.reader
        stats = FileStats(file=spec.path)
        fingerprint = reader.fingerprint()
        start = 0
        if resume is not None and resume["fingerprint"] == fingerprint:
            if resume["completed"]:
                stats.add(resume["stats"])
                self.progress.file_finished(stats)
                return stats
            start = int(resume["rows_done"])
            stats.add(resume["stats"])
        self.progress.file_started(spec.path, reader.lines)
        if stats.read:
            self.progress.rows_done(spec.path, stats.read)
        done = start
        with self.engine.connect() as connection:
            stores = self._stores(connection)
        for batch_number, (chunk, done) in enumerate(part.batches(start, self.batch_size), 1):
            # Map before the transaction opens: on SQLite the write lock is then
            # held only while rows are written (the first write takes it).
            prepared = prepare_rows(spec.path, chunk, stores)
            with self.engine.begin() as connection:
                self._process(connection, spec, chunk, prepared, stats)
                self._checkpoint(connection, part.key, fingerprint, done, stats, completed=False)
            self.progress.rows_done(spec.path, len(chunk))
            loaded = batch_number * self.batch_size
            if batch_number & (batch_number - 1) == 0 and loaded >= STATISTICS_AFTER_ROWS:
                # After batches 4, 8, 16... (at 5,000 rows a batch): statistics
                # within a factor of two; below, a wrong plan costs milliseconds.
                refresh_statistics(self.engine, LOOKED_UP_TABLES)
        with self.engine.begin() as connection:
            self._checkpoint(connection, part.key, fingerprint, done, stats, completed=True)
        self.progress.file_finished(stats)
        return stats

    def _checkpoint(
        self,
        connection: Connection,
        key: str,
        fingerprint: str,
        rows_done: int,
        stats: FileStats,
        *,
        completed: bool,
    ) -> None:
        upsert(
            connection,
            checkpoints,
            [
                {
                    "batch_id": self.batch_id,
                    "file_key": key,
                    "fingerprint": fingerprint,
                    "rows_done": rows_done,
                    "completed": completed,
                    "stats": stats.counts(),
                    "updated_at": utcnow(),
                }
            ],
            conflict_columns=["batch_id", "file_key"],
        )

    # ------------------------------------------------------------ batches

    def _process(
        self,
        connection: Connection,
        spec: ExportFile,
        chunk: Sequence[RawRow],
        prepared: Sequence[PreparedRow],
        stats: FileStats,
    ) -> None:
        result = write_batch(
            connection,
            spec=spec,
            chunk=chunk,
            prepared=prepared,
            stats=stats,
            batch_id=self.batch_id,
            suppression=self.suppression,
            project_consents=self.project_consents,
            initial_load=self.initial_load,
            event_details={"load": self.batch_id},
        )
        self.raw_consents += result.raw_consents
        self.consent_changes += result.consent_changes

    @staticmethod
    def _stores(connection: Connection) -> StoreTable:
        return _store_table(connection)


@dataclass
class BatchResult:
    """What writing one batch did, beyond the counts of its FileStats."""

    raw_consents: int = 0
    consent_changes: int = 0
    # The stored record of each source id the batch wrote (a new version, or a reject retried).
    record_ids: dict[str, int] = field(default_factory=dict)
    # The rows kept as rejects: (source id or None, reason code, message).
    rejects: list[tuple[str | None, str, str]] = field(default_factory=list)
    # The domain events the batch wrote to the outbox (ingest.events).
    events: list[DomainEvent] = field(default_factory=list)


def write_batch(
    connection: Connection,
    *,
    spec: ExportFile,
    chunk: Sequence[RawRow],
    prepared: Sequence[PreparedRow],
    stats: FileStats,
    batch_id: int | None = None,
    suppression: SuppressionList | None = None,
    project_consents: bool = True,
    origin: str | None = None,
    consent_actor: str = "process:load",
    initial_load: bool = False,
    event_cause: str = "load",
    event_details: Mapping[str, Any] | None = None,
) -> BatchResult:
    """Store a batch of prepared rows raw, then write their facts: the load's one path.

    In the caller's transaction: screening against the suppression list,
    raw source records (a version already stored is unchanged), the entity
    writer (golden profiles, links, consents, orders...) and its domain
    events, rejects with their reasons and validation issues. A load calls it
    per batch of a file; the Shopify webhook processor per delivery
    (``origin`` names it in rejects). The events' data carry ``event_cause``
    and ``event_details``; an ``initial_load`` writes none (its end announces
    the counts).
    """
    batch = _Batch(spec=spec, batch_id=batch_id, now=utcnow(), stats=stats, origin=origin)
    keyed = batch.key_rows(chunk, prepared)
    mapping = mapping_context(_store_table(connection))
    if suppression is not None:
        keyed, screened = screen_batch(
            connection,
            spec=spec,
            keyed=keyed,
            listed=suppression,
            mapping=mapping,
            now=batch.now,
        )
        stats.suppressed += screened
    source_ids = {item.source_id for _, item in keyed if item.source_id is not None}
    versions = _versions(connection, batch.system, batch.entity, source_ids)
    work, new_records = batch.plan(keyed, versions)
    record_ids = _store_records(connection, batch, work, new_records)

    ctx = WriteContext(
        connection=connection,
        now=batch.now,
        mapping=mapping,
        remap_customer=_remap_customer(mapping),
        project_consents=project_consents,
        consent_actor=consent_actor,
        announce=not initial_load,
        event_cause=event_cause,
        event_details=dict(event_details or {}),
    )
    pending = [
        Pending(record_id, item.source_id, item.result.facts)
        for item, record_id in zip(work, record_ids, strict=True)
        if item.result.reject is None
    ]
    late_rejects = spec.writer(ctx, pending) if pending else {}
    batch.settle(connection, work, record_ids, late_rejects, ctx.issues)
    return BatchResult(
        raw_consents=ctx.raw_consents,
        consent_changes=ctx.consent_changes,
        record_ids={item.source_id: rid for item, rid in zip(work, record_ids, strict=True)},
        rejects=[
            (row["source_id"], row["reason_code"], row["message"]) for row in batch.reject_rows
        ],
        events=ctx.events,
    )


def _store_records(
    connection: Connection,
    batch: _Batch,
    work: list[_Work],
    new_records: list[dict[str, Any]],
) -> list[int]:
    """Insert the new source records and return every work item's record id."""
    if not new_records:  # every item is a stored record tried again
        return [item.retried_id for item in work if item.retried_id is not None]
    if connection.dialect.name == "sqlite":
        # SQLite gives each plain insert the rowid after the current maximum, and
        # from our first insert to the commit we hold the database's only write
        # lock: our rows are the last len(new_records) ids, consecutive.
        bulk_insert(connection, records, new_records)
        last = int(connection.exec_driver_sql("SELECT max(id) FROM source_record").scalar_one())
        next_id = iter(range(last - len(new_records) + 1, last + 1))
        return [item.retried_id or next(next_id) for item in work]
    # PostgreSQL: one INSERT returning each new row's key and id (a batch
    # never holds the same source id and hash twice).
    stored = insert_returning(connection, records, new_records, ("source_id", "payload_hash", "id"))
    ids = {(source_id, digest): record_id for source_id, digest, record_id in stored}
    return [item.retried_id or ids[item.source_id, item.digest] for item in work]


def _versions(
    connection: Connection, system: str, entity: str, source_ids: set[str]
) -> dict[str, dict[str, tuple[int, str]]]:
    """Return every stored version of the given source ids: hash -> (record id, status)."""
    found: dict[str, dict[str, tuple[int, str]]] = {}
    for condition in is_one_of(connection, records.c.source_id, sorted(source_ids)):
        rows = connection.execute(
            select(
                records.c.source_id, records.c.payload_hash, records.c.id, records.c.status
            ).where(records.c.source_system == system, records.c.entity == entity, condition)
        )
        for source_id, digest, record_id, status in rows:
            found.setdefault(source_id, {})[digest] = (record_id, str(status))
    return found


def _issue_row(record_id: int, system: str, entity: str, issue: ValidationIssue) -> dict[str, Any]:
    return {
        "source_record_id": record_id,
        "source_system": system,
        "entity": entity,
        "field": issue.field,
        "code": issue.code,
        "message": issue.message,
        "value": issue.value,
    }


def storable_text(raw: str) -> str:
    """Return text safe for any database column: no NUL, no lone surrogate."""
    return raw.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _start_or_resume(engine: Engine, directory: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    """Return the batch to work in and the checkpoints of an interrupted one, if any."""
    with engine.begin() as connection:
        interrupted = connection.execute(
            select(table_of(LoadBatch).c.id)
            .where(
                table_of(LoadBatch).c.source_dir == str(directory),
                table_of(LoadBatch).c.status == BatchStatus.RUNNING.value,
            )
            .order_by(table_of(LoadBatch).c.id.desc())
            .limit(1)
        ).scalar()
        if interrupted is not None:
            saved = connection.execute(
                select(checkpoints).where(checkpoints.c.batch_id == interrupted)
            ).mappings()
            return int(interrupted), {row["file_key"]: dict(row) for row in saved}
        batch_id = insert_returning_ids(
            connection,
            table_of(LoadBatch),
            [
                {
                    "source_dir": str(directory),
                    "status": BatchStatus.RUNNING.value,
                    "started_at": utcnow(),
                    "stats": {},
                }
            ],
        )[0]
        return batch_id, {}


def load_directory(
    *,
    engine: Engine,
    directory: Path,
    batch_size: int = 5000,
    encoding: str | None = None,
    progress: LoadProgress | None = None,
    workers: int = 0,
    privacy: PrivacySettings | None = None,
    before_attaching: Callable[[datetime], None] | None = None,
    before_attaching_indexes: Collection[str] = (),
) -> LoadReport:
    """Load an export directory (docs/formats.md) into the repository, phase by phase.

    Within a phase, the files of different sources (lanes) load side by side
    in up to ``workers`` processes; 0 or 1 loads one file at a time.

    ``before_attaching`` runs in an initial load once its customers are stored,
    before the phases that attach orders, interactions and consents to them
    (identity resolution: its merges then move none of those). The secondary
    indexes it reads by, ``before_attaching_indexes``, are built for it; the
    others wait for the load's end, so that its writes maintain none of them.
    It gets the batch's start (its first run's, if resumed): a resumed
    initial load runs it again, and it must skip what it did then. Whether
    it ran is in the report.
    """
    directory = directory.resolve()
    opened = open_export_files(directory, encoding=encoding)
    batch_id, saved = _start_or_resume(engine, directory)
    report = LoadReport(batch_id=batch_id, directory=directory, resumed=bool(saved))
    with engine.connect() as connection:
        report.started_at = connection.scalar(
            select(table_of(LoadBatch).c.started_at).where(table_of(LoadBatch).c.id == batch_id)
        )
    progress = _PartsProgress(
        progress or _NoProgress(), {spec.path: spec.parts for spec, _ in opened}
    )
    stats_by_file: dict[str, list[FileStats]] = {}
    # Into an empty repository, or resuming one whose indexes are still missing,
    # consent states are projected once at the end: per batch they would scan.
    deferred = drop_for_initial_load(engine) or secondary_indexes_missing(engine)
    with engine.connect() as connection:
        nobody_erased = list_is_empty(connection)
    job = LaneJob(
        database_url=engine.url.render_as_string(hide_password=False),
        batch_id=batch_id,
        batch_size=batch_size,
        saved=saved,
        project_consents=not deferred,
        initial_load=deferred,
        suppression_secret=None
        if nobody_erased
        else suppression_secret(privacy or PrivacySettings()),
    )
    attaching = _BeforeAttaching(
        engine, before_attaching if deferred else None, before_attaching_indexes, report
    )
    try:
        for step in sorted({(spec.phase, spec.step) for spec, _ in opened}):
            if step[0] >= ATTACHING_PHASE:
                attaching.run()
            # A lane: the files of one source in this step, in order; each part
            # of a split file is a lane of its own.
            lanes: dict[tuple[str, int], list[FilePart]] = {}
            for spec, reader in opened:
                if (spec.phase, spec.step) == step and reader is not None:
                    for part in split_into_parts(spec, reader):
                        lanes.setdefault((spec.lane, part.index), []).append(part)
            if not lanes:  # none of the step's files is in the directory (a drop folder's one)
                continue
            for files, consents, changes in _load_lanes(
                engine, job, list(lanes.values()), workers, progress
            ):
                for stats in files:
                    stats_by_file.setdefault(stats.file, []).append(stats)
                report.raw_consents += consents
                report.consent_changes += changes
            refresh_statistics(engine)
        attaching.run()  # an export of customers only: not run yet
    except FileFormatError:
        _finish(engine, batch_id, BatchStatus.FAILED, report)
        raise
    for spec, _reader in opened:
        if spec.path in stats_by_file:
            report.files.append(sum_stats(spec.path, stats_by_file[spec.path]))
        else:
            report.files.append(FileStats(file=spec.path, missing=True))
    ensure_secondary_indexes(engine)
    report.consent_changes += _project_all_consents(engine, deferred=deferred)
    summarized = _loaded_files(opened, report) if deferred else None
    _finish(engine, batch_id, BatchStatus.DONE, report, summarized)
    return report


class _BeforeAttaching:
    """Runs a load's ``before_attaching`` once, the indexes it reads by built first."""

    def __init__(
        self,
        engine: Engine,
        hook: Callable[[datetime], None] | None,
        indexes: Collection[str],
        report: LoadReport,
    ) -> None:
        self.engine = engine
        self.hook = hook
        self.indexes = indexes
        self.report = report

    def run(self) -> None:
        if self.hook is None:
            return
        hook, self.hook = self.hook, None
        # The statistics are those the loop took after the customers' last step.
        ensure_secondary_indexes(self.engine, only=self.indexes)
        hook(self.report.started_at or utcnow())
        self.report.ran_before_attaching = True


_SUMMARIZED_WRITERS = {writers.write_customers: "customers", writers.write_orders: "orders"}


def _loaded_files(
    opened: list[tuple[ExportFile, ReaderFile | None]], report: LoadReport
) -> list[LoadedFile]:
    """Return what an initial load did with each file its summary events count."""
    stats = {s.file: s for s in report.files if not s.missing}
    return [
        LoadedFile(
            kind=_SUMMARIZED_WRITERS[spec.writer],
            source=spec.source.value,
            stored=stats[spec.path].inserted + stats[spec.path].updated,
            rejected=stats[spec.path].rejected,
        )
        for spec, _reader in opened
        if spec.writer in _SUMMARIZED_WRITERS and spec.path in stats
    ]


def _load_lanes(
    engine: Engine,
    job: LaneJob,
    lanes: list[list[FilePart]],
    workers: int,
    progress: LoadProgress,
) -> list[tuple[list[FileStats], int, int]]:
    """Load a step's lanes, side by side when there are workers; return each lane's counts."""
    if workers > 1 and len(lanes) > 1:
        return run_lanes_in_parallel(job, lanes, workers, progress)
    loader = _Loader.for_job(engine, job, progress)
    with _garbage_collector_spared():
        in_order = [
            loader.load_file(part, job.saved.get(part.key)) for parts in lanes for part in parts
        ]
    return [(in_order, loader.raw_consents, loader.consent_changes)]


def _project_all_consents(engine: Engine, *, deferred: bool) -> int:
    """Project every profile's consent states once, after a load that deferred it.

    Also when a load died between building its indexes and projecting: the
    resumed load has nothing left to defer, and the states would stay missing.
    """
    with unit_of_work(engine) as session:
        if not deferred and not needs_initial_projection(session.connection()):
            return 0
        return project_initial_load(session=session, now=utcnow()).differences


@dataclass(frozen=True)
class LaneJob:
    """What a process needs to load one lane of a phase."""

    database_url: str
    batch_id: int
    batch_size: int
    saved: dict[str, dict[str, Any]]
    project_consents: bool = True
    suppression_secret: str | None = None
    # Into an empty repository: no event per record, one summary per entity at the end.
    initial_load: bool = False


def load_lane(
    job: LaneJob, parts: list[FilePart], progress: LoadProgress
) -> tuple[list[FileStats], int, int]:
    """Load a lane's files in order on a new engine; return their stats and consent counts."""
    engine = make_engine(job.database_url)
    try:
        loader = _Loader.for_job(engine, job, progress)
        with _garbage_collector_spared():
            stats = [loader.load_file(part, job.saved.get(part.key)) for part in parts]
        return stats, loader.raw_consents, loader.consent_changes
    finally:
        engine.dispose()


def _finish(
    engine: Engine,
    batch_id: int,
    status: BatchStatus,
    report: LoadReport,
    summarized: list[LoadedFile] | None = None,
) -> None:
    """Close the load's batch; an initial one announces its summaries in the same transaction."""
    table = table_of(LoadBatch)
    with engine.begin() as connection:
        if summarized is not None:
            emit_load_summaries(connection, load_id=batch_id, files=summarized, now=utcnow())
        connection.execute(
            update(table)
            .where(table.c.id == batch_id)
            .values(
                status=status.value,
                finished_at=utcnow(),
                stats={s.file: s.counts() for s in report.files if not s.missing},
            )
        )


def current_customer_facts(
    connection: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, CustomerFacts]]:
    """Return the stored record id and mapped facts of the current version of each source customer.

    The current version is the latest processed record of that source id;
    unknown stores and associates are dropped as the load drops them.
    """
    mapping = mapping_context(_store_table(connection))
    remap = _remap_customer(mapping)
    known_associates = set(connection.scalars(select(table_of(SalesAssociate).c.id)))
    known_stores = set(connection.scalars(select(table_of(Store).c.id)))
    by_system: dict[str, list[str]] = {}
    for system, source_id in keys:
        by_system.setdefault(system, []).append(source_id)
    found: dict[tuple[str, str], tuple[int, CustomerFacts]] = {}
    for system, source_ids in by_system.items():
        for condition in is_one_of(connection, records.c.source_id, sorted(set(source_ids))):
            rows = connection.execute(
                select(
                    records.c.id,
                    records.c.source_id,
                    records.c.entity,
                    records.c.payload,
                    records.c.received_at,
                )
                .where(
                    records.c.source_system == system,
                    records.c.entity.in_(("customer", "submission")),
                    records.c.status == PROCESSED,
                    condition,
                )
                .order_by(records.c.received_at, records.c.id)
            )
            for row in rows:  # later versions overwrite earlier ones
                facts = remap(system, row.entity, row.payload)
                if facts is None:
                    continue
                store = (
                    facts.preferred_store_id if facts.preferred_store_id in known_stores else None
                )
                associate = facts.associate_id if facts.associate_id in known_associates else None
                if store != facts.preferred_store_id or associate != facts.associate_id:
                    facts = replace(facts, preferred_store_id=store, associate_id=associate)
                found[system, row.source_id] = (row.id, facts)
    return found


def export_file(path: str) -> ExportFile:
    """Return the export file of the catalog with this relative path ("shopify/orders.jsonl")."""
    for spec in EXPORT_FILES:
        if spec.path == path:
            return spec
    raise KeyError(path)


def prepare_payloads(
    connection: Connection, *, spec: ExportFile, payloads: Sequence[dict[str, Any]]
) -> tuple[list[RawRow], list[PreparedRow]]:
    """Key, hash and map JSON objects as if they were rows of the export file (a webhook's).

    Each keeps its canonical JSON as its raw text, which a reject stores.
    """
    rows = [
        RawRow(0, ordinal, canonical_json(payload).decode(), payload, None)
        for ordinal, payload in enumerate(payloads)
    ]
    return rows, prepare_spec_rows(spec, rows, _store_table(connection))


def applied_payloads(
    connection: Connection, *, system: str, entity: str, source_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Return the payload of the version of each record that was applied: the latest processed."""
    found: dict[str, dict[str, Any]] = {}
    for condition in is_one_of(connection, records.c.source_id, sorted(set(source_ids))):
        rows = connection.execute(
            select(records.c.source_id, records.c.payload)
            .where(
                records.c.source_system == system,
                records.c.entity == entity,
                records.c.status == PROCESSED,
                condition,
            )
            .order_by(records.c.received_at, records.c.id)
        )
        for source_id, payload in rows:  # later versions overwrite earlier ones
            found[source_id] = payload
    return found


__all__ = [
    "BatchResult",
    "FileStats",
    "LoadProgress",
    "LoadReport",
    "applied_payloads",
    "current_customer_facts",
    "export_file",
    "load_directory",
    "payload_hash",
    "prepare_payloads",
    "write_batch",
]
