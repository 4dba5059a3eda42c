"""Y2's drop folder: take each settled export, load it, then archive it or set it aside.

A file is taken only once it is whole: not a temporary name, unchanged for
``drop_settle_seconds``, with its done-marker when markers are required. It is
then renamed into ``processing/<claim>/`` (atomic within one file system, so
no other watcher reads it too) before a byte of it is read. Each file loads
as its own load batch through :func:`amigo.ingest.service.load_directory`,
on ``processing/<claim>/`` as the export directory: the load's checkpoints
(per batch, file and content hash) make a watcher killed mid-file resume
where it stopped, and the loader's versions make every unchanged row a
no-op. Loaded files go to ``archive/YYYY/MM/DD/``; files that cannot be
loaded at all go to ``failed/`` with a ``.error.txt`` and a dead letter.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Literal

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from amigo.connectors import state
from amigo.core.clock import utcnow
from amigo.core.config import CegidSettings, PrivacySettings
from amigo.core.db import unit_of_work
from amigo.core.errors import AmigoError, InvalidInputError
from amigo.ingest.catalog import ExportFile
from amigo.ingest.service import FileStats, LoadProgress, export_file, load_directory

CONNECTOR = "cegid"
STREAM = "drop-folder"
OPERATION = "drop-file"
CLAIM_FILE = "claim.json"
LOCK_FILE = ".watcher.lock"

# The Y2 exports in the order a set loads: customers name stores and associates,
# receipts name customers, lines and payments name receipts.
KINDS: tuple[str, ...] = (
    "stores",
    "sales_associates",
    "products",
    "customers",
    "receipts",
    "receipt_lines",
    "receipt_payments",
)


def _columns(names: str) -> frozenset[str]:
    return frozenset(names.split())


# Every column docs/formats.md gives each export: a file with an unknown name
# is the export whose required columns it has and whose columns it shares most.
DOCUMENTED_COLUMNS: dict[str, frozenset[str]] = {
    "stores": _columns(
        "StoreId StoreName AddressLine1 AddressLine2 ZipCode City CountryId PhoneNumber "
        "Email OpeningHours ManagerId RegionId TimeZoneId"
    ),
    "sales_associates": _columns("SalesPersonId FirstName LastName StoreId Active"),
    "products": _columns(
        "ItemCode Label FamilyId CollectionId SeasonId TaxIncludedPrice CurrencyId"
    ),
    "customers": _columns(
        "CustomerId TitleId FirstName LastName BirthDateDay BirthDateMonth "
        "BirthDateYear Email AlternativeEmail CellularPhoneNumber HomePhoneNumber "
        "AddressLine1 AddressLine2 AddressLine3 ZipCode City RegionId CountryId "
        "LanguageId UsualStoreId CreationStoreId SalesPersonId IsProspect OptinEmail "
        "OptinMobile OptinPostal OptinHomePhone UserDefinedText1 CreationDate "
        "LastModificationDate Closed"
    ),
    "receipts": _columns(
        "Stump Number Type Date StoreId CustomerId SalesPersonId CurrencyId "
        "TaxIncludedTotalAmount TotalQuantity Status Active"
    ),
    "receipt_lines": _columns(
        "Stump Number Rank ItemCode Label Quantity TaxIncludedUnitPrice TaxIncludedNetUnitPrice"
    ),
    "receipt_payments": _columns(
        "Stump Number Rank Code Label Amount Currency DueDate IsReceivedPayment"
    ),
}
_HEADER_BYTES = 64 * 1024


def catalog_file(kind: str) -> ExportFile:
    """Return how `amigo load` reads this kind of Y2 export."""
    return export_file(f"cegid/{kind}.csv")


@dataclass(frozen=True)
class Dropped:
    """A file seen in the drop folder and whether it may be taken."""

    path: Path
    size: int
    mtime_ns: int
    ready: bool
    waiting_for: str | None  # why not yet: "settling", "marker"
    kind: str | None  # by name; None until the header tells
    stamp: str  # the set it belongs to, from its name ("" when undated)


@dataclass
class FileOutcome:
    """What the watcher did with one file."""

    name: str
    kind: str | None
    status: Literal["archived", "failed"]
    destination: Path
    seconds: float
    stats: FileStats | None = None
    error: str | None = None
    resumed: bool = False
    load_started_at: datetime | None = None  # the load batch's start: what it changed is newer

    @property
    def written(self) -> int:
        """Return how many rows were inserted or updated."""
        return 0 if self.stats is None else self.stats.inserted + self.stats.updated


@dataclass
class _Claim:
    """A file renamed into processing/: its folder, original name and, once known, its kind."""

    folder: Path
    name: str
    kind: str | None = None
    stamp: str = ""
    size: int = 0
    resumed: bool = False

    @property
    def staged(self) -> Path | None:
        """Return where the loader reads it (processing/<claim>/cegid/<kind>.csv)."""
        return None if self.kind is None else self.folder / "cegid" / f"{self.kind}.csv"

    @property
    def current(self) -> Path:
        """Return where the file is now."""
        staged = self.staged
        return staged if staged is not None and staged.exists() else self.folder / self.name


class _NamePatterns:
    """Tell an export's kind and set from its name."""

    def __init__(self, patterns: dict[str, str]) -> None:
        unknown = sorted(set(patterns) - set(KINDS))
        if unknown:
            raise InvalidInputError(
                f"AMIGO_CEGID_DROP_FILE_NAMES names unknown exports {', '.join(unknown)}; "
                f"known: {', '.join(KINDS)}",
                code="bad_setting",
            )
        self.compiled = [
            (kind, re.compile(_glob_to_regex(patterns[kind]), re.IGNORECASE))
            for kind in KINDS
            if kind in patterns
        ]

    def match(self, name: str) -> tuple[str | None, str]:
        """Return (kind, stamp) of a name, (None, "") when no pattern fits."""
        for kind, pattern in self.compiled:
            found = pattern.fullmatch(name)
            if found:
                stamp = "".join(part for part in found.groups() if part).strip("_-. ")
                return kind, stamp
        return None, ""


def _glob_to_regex(pattern: str) -> str:
    """Translate a glob whose * parts capture the set's date (fnmatch does not capture)."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append("(.*?)")
        elif char == "?":
            parts.append("(.)")
        else:
            parts.append(re.escape(char))
    return "".join(parts)


def kind_from_header(path: Path) -> str | None:
    """Return the export whose columns the file's header has, None if none or several fit."""
    with path.open("rb") as handle:
        head = handle.read(_HEADER_BYTES)
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = line.decode("cp1252", errors="replace")
    columns = {name.strip().strip('"') for name in text.split(";")}
    scored: list[tuple[int, str]] = []
    for kind in KINDS:
        if set(catalog_file(kind).mapper.required) <= columns:
            scored.append((len(DOCUMENTED_COLUMNS[kind] & columns), kind))
    scored.sort(reverse=True)
    if not scored or (len(scored) > 1 and scored[0][0] == scored[1][0]):
        return None
    return scored[0][1]


class DropFolder:
    """The watched folder of Y2 exports: what waits in it, and one pass that takes what is ready."""

    def __init__(
        self,
        *,
        engine: Engine,
        folder: Path,
        settings: CegidSettings,
        privacy: PrivacySettings | None = None,
        batch_size: int = 5000,
        workers: int = 0,
        encoding: str | None = None,
        progress: LoadProgress | None = None,
    ) -> None:
        if not folder.exists():
            raise InvalidInputError(
                f"drop folder {folder} does not exist: create it, or point "
                "AMIGO_CEGID_DROP_FOLDER (or the FOLDER argument) at the folder Y2 writes to",
                code="missing_directory",
            )
        if not folder.is_dir():
            raise InvalidInputError(f"{folder} is not a directory", code="not_a_directory")
        self.engine = engine
        self.folder = folder.resolve()
        self.settings = settings
        self.privacy = privacy
        self.batch_size = batch_size
        self.workers = workers
        self.encoding = encoding
        self.progress = progress
        self.names = _NamePatterns(settings.drop_file_names)
        self.processing = self.folder / settings.drop_processing_dir
        self.archive = self.folder / settings.drop_archive_dir
        self.failed = self.folder / settings.drop_failed_dir
        # (size, mtime) of each file at the previous look: a file that changed since is
        # still being written, whatever its modification time says.
        self._last_seen: dict[str, tuple[int, int]] = {}
        # The files the last pass left waiting (still written, or without their marker).
        self.waiting: list[Dropped] = []

    # ------------------------------------------------------------ looking

    def scan(self) -> list[Dropped]:
        """List the files waiting in the folder, each ready or why not yet, in load order."""
        now = time.time()
        entries: dict[str, os.stat_result] = {}
        with os.scandir(self.folder) as listing:
            for entry in listing:
                if entry.is_file(follow_symlinks=False):
                    entries[entry.name] = entry.stat(follow_symlinks=False)
        seen: dict[str, tuple[int, int]] = {}
        found = []
        for name, info in entries.items():
            if self._is_partial(name) or self._is_marker(name):
                continue
            signature = (info.st_size, info.st_mtime_ns)
            seen[name] = signature
            previous = self._last_seen.get(name)
            settled = now - info.st_mtime_ns / 1e9 >= self.settings.drop_settle_seconds and (
                previous is None or previous == signature
            )
            waiting_for = None
            if not settled:
                waiting_for = "settling"
            elif self.settings.drop_require_marker and not self._markers_of(name, entries):
                waiting_for = "marker"
            kind, stamp = self.names.match(name)
            found.append(
                Dropped(
                    path=self.folder / name,
                    size=info.st_size,
                    mtime_ns=info.st_mtime_ns,
                    ready=waiting_for is None,
                    waiting_for=waiting_for,
                    kind=kind,
                    stamp=stamp,
                )
            )
        self._last_seen = seen
        return sorted(found, key=_load_order)

    def _is_partial(self, name: str) -> bool:
        lowered = name.lower()
        return name.startswith((".", "~$")) or any(
            lowered.endswith(suffix.lower()) for suffix in self.settings.drop_partial_suffixes
        )

    def _marker_names(self, name: str) -> list[str]:
        stem = name.rsplit(".", 1)[0] if "." in name else name
        return [
            candidate
            for suffix in self.settings.drop_marker_suffixes
            for candidate in (name + suffix, stem + suffix)
        ]

    def _is_marker(self, name: str) -> bool:
        lowered = name.lower()
        return any(
            lowered.endswith(suffix.lower()) for suffix in self.settings.drop_marker_suffixes
        )

    def _markers_of(self, name: str, entries: dict[str, os.stat_result] | None = None) -> list[str]:
        present = entries if entries is not None else {p.name: None for p in self.folder.iterdir()}
        return [marker for marker in self._marker_names(name) if marker in present]

    # ------------------------------------------------------------ one pass

    def run_once(
        self,
        *,
        stop: threading.Event | None = None,
        on_file: Callable[[FileOutcome], None] | None = None,
        wait_for_lock: bool = True,
    ) -> list[FileOutcome]:
        """Finish what a killed watcher left in processing/, then load every ready file, in order.

        ``stop`` is looked at between files: the current file always finishes.
        """
        outcomes: list[FileOutcome] = []
        with self._lock(wait=wait_for_lock) as locked:
            if not locked:  # another watcher is at work on this folder
                return outcomes
            claims = self._abandoned_claims()
            seen = self.scan()
            self.waiting = [dropped for dropped in seen if not dropped.ready]
            for dropped in seen:
                if dropped.ready:
                    claim = self._claim(dropped)
                    if claim is not None:
                        claims.append(claim)
            for claim in self._in_load_order(claims):
                if stop is not None and stop.is_set():
                    self._release(claim)  # not begun: back where Y2 put it, for the next run
                    continue
                outcome = self._process(claim)
                outcomes.append(outcome)
                if on_file is not None:
                    on_file(outcome)
        return outcomes

    @contextlib.contextmanager
    def _lock(self, *, wait: bool) -> Iterator[bool]:
        """Hold the folder's lock for a pass: claims left in processing/ are then abandoned ones."""
        self.processing.mkdir(parents=True, exist_ok=True)
        handle: IO[bytes] = (self.processing / LOCK_FILE).open("ab")
        try:
            flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
            try:
                fcntl.flock(handle.fileno(), flags)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            handle.close()

    def _claim(self, dropped: Dropped) -> _Claim | None:
        """Rename a ready file into processing/<claim>/, unless it changed or was taken meanwhile."""
        try:
            info = dropped.path.stat()
        except FileNotFoundError:
            return None
        if (info.st_size, info.st_mtime_ns) != (dropped.size, dropped.mtime_ns):
            return None  # written to since the scan: not settled after all
        folder = self.processing / _claim_name(dropped.path.name)
        folder.mkdir(parents=True)
        try:
            dropped.path.rename(folder / dropped.path.name)
        except FileNotFoundError:  # another watcher renamed it first
            folder.rmdir()
            return None
        for marker in self._markers_of(dropped.path.name):
            with contextlib.suppress(FileNotFoundError):
                (self.folder / marker).unlink()
        self._last_seen.pop(dropped.path.name, None)
        return _Claim(folder, dropped.path.name, stamp=dropped.stamp, size=dropped.size)

    def _release(self, claim: _Claim) -> None:
        """Put a claimed file whose load has not begun back into the folder."""
        source, target = claim.folder / claim.name, self.folder / claim.name
        if claim.resumed or not source.exists():
            return  # a load of it began: it stays in processing/ to be resumed
        if target.exists():
            return  # Y2 dropped another file of that name meanwhile: keep both
        source.rename(target)
        shutil.rmtree(claim.folder)

    def _abandoned_claims(self) -> list[_Claim]:
        """Return the files a watcher killed mid-way left in processing/ (the lock is held)."""
        claims = []
        for folder in sorted(p for p in self.processing.iterdir() if p.is_dir()):
            recorded = folder / CLAIM_FILE
            if recorded.exists():
                data = json.loads(recorded.read_text(encoding="utf-8"))
                claim = _Claim(folder, data["name"], data["kind"], data.get("stamp", ""))
                claim.resumed = True
                if claim.staged is not None and claim.staged.exists():
                    claim.size = claim.staged.stat().st_size
                    claims.append(claim)
                    continue
            files = [p for p in folder.iterdir() if p.is_file() and p.name != CLAIM_FILE]
            if not files:  # killed between making the folder and renaming the file into it
                shutil.rmtree(folder)
                continue
            name = files[0].name
            claim = _Claim(folder, name, stamp=self.names.match(name)[1], resumed=True)
            claim.size = files[0].stat().st_size
            claims.append(claim)
        return claims

    def _in_load_order(self, claims: list[_Claim]) -> list[_Claim]:
        """Tell each claim's kind (name, else header), then order sets by date and exports by kind."""
        for claim in claims:
            if claim.kind is None:
                claim.kind = self.names.match(claim.name)[0]
                if claim.kind is None:
                    with contextlib.suppress(OSError):
                        claim.kind = kind_from_header(claim.current)
        return sorted(
            claims,
            key=lambda c: (
                c.stamp,
                KINDS.index(c.kind) if c.kind is not None else len(KINDS),
                c.folder.name,
            ),
        )

    # ------------------------------------------------------------ one file

    def _process(self, claim: _Claim) -> FileOutcome:
        """Load one claimed file, then archive it; set it aside if it cannot be loaded at all."""
        started = time.monotonic()
        with unit_of_work(self.engine) as session:
            state.sync_started(session=session, connector=CONNECTOR, stream=STREAM, now=utcnow())
        if claim.kind is None:
            return self._set_aside(
                claim,
                started,
                "unknown export: the name matches none of AMIGO_CEGID_DROP_FILE_NAMES and the "
                "header is none of the Y2 exports of docs/formats.md",
                problem="unknown_format",
            )
        staged = claim.folder / "cegid" / f"{claim.kind}.csv"
        if not staged.exists():
            (claim.folder / CLAIM_FILE).write_text(
                json.dumps({"name": claim.name, "kind": claim.kind, "stamp": claim.stamp}),
                encoding="utf-8",
            )
            staged.parent.mkdir(exist_ok=True)
            (claim.folder / claim.name).rename(staged)
        try:
            report = load_directory(
                engine=self.engine,
                directory=claim.folder,
                batch_size=self.batch_size,
                encoding=self.encoding,
                workers=self.workers,
                privacy=self.privacy,
                progress=self.progress,
            )
        except AmigoError as error:
            details = getattr(error, "details", None) or {}
            message = error.message.replace(str(staged), claim.name)
            return self._set_aside(claim, started, message, problem=details.get("problem"))
        stats = next(s for s in report.files if s.file == f"cegid/{claim.kind}.csv")
        stats.file = claim.name
        destination = self._move_unique(staged, self._archive_day(), claim.name)
        shutil.rmtree(claim.folder)
        outcome = FileOutcome(
            claim.name,
            claim.kind,
            "archived",
            destination,
            time.monotonic() - started,
            stats=stats,
            resumed=claim.resumed or report.resumed,
            load_started_at=report.started_at,
        )
        with unit_of_work(self.engine) as session:
            state.save_checkpoint(
                session=session,
                connector=CONNECTOR,
                stream=STREAM,
                checkpoint={
                    "last_file": claim.name,
                    "kind": claim.kind,
                    "archived_as": str(destination.relative_to(self.folder)),
                    "load_batch": report.batch_id,
                    **stats.counts(),
                    "finished_at": utcnow().isoformat(),
                },
                now=utcnow(),
                records=outcome.written,
            )
        return outcome

    def _set_aside(
        self, claim: _Claim, started: float, reason: str, *, problem: str | None
    ) -> FileOutcome:
        """Move a file that cannot be loaded to failed/ with its reason, and keep a dead letter."""
        self.failed.mkdir(parents=True, exist_ok=True)
        destination = self._move_unique(claim.current, self.failed, claim.name)
        destination.with_name(destination.name + ".error.txt").write_text(
            f"{claim.name}: not loaded, moved to {destination.relative_to(self.folder)}\n"
            f"when: {utcnow().isoformat(timespec='seconds')}\n"
            f"export: {claim.kind or 'unknown'}\n"
            f"reason: {reason}\n"
            "fix the file and drop it again (a fixed file loads like a new one)\n",
            encoding="utf-8",
        )
        shutil.rmtree(claim.folder)
        now = utcnow()
        with unit_of_work(self.engine) as session:
            # File name, kind, size and the reason's code: no row of the file (personal data).
            state.add_dead_letter(
                session=session,
                connector=CONNECTOR,
                operation=OPERATION,
                target=claim.name,
                payload={
                    "file": claim.name,
                    "kind": claim.kind,
                    "bytes": claim.size,
                    "problem": problem,
                    "failed_as": str(destination.relative_to(self.folder)),
                },
                error=reason,
                attempts=1,
                now=now,
            )
            state.sync_failed(
                session=session,
                connector=CONNECTOR,
                stream=STREAM,
                error=f"{claim.name}: {reason}",
                now=now,
            )
        return FileOutcome(
            claim.name, claim.kind, "failed", destination, time.monotonic() - started, error=reason
        )

    def _archive_day(self) -> Path:
        day = utcnow()
        target = self.archive / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
        target.mkdir(parents=True, exist_ok=True)
        return target

    @staticmethod
    def _move_unique(source: Path, folder: Path, name: str) -> Path:
        """Move a file into a folder under its name, or name-2, name-3...: never over another."""
        stem, dot, suffix = name.rpartition(".")
        if not dot or not stem:
            stem, suffix = name, ""
        number = 1
        while True:
            candidate = folder / (
                name if number == 1 else f"{stem}-{number}{'.' + suffix if suffix else ''}"
            )
            try:
                # A hard link fails if the name exists (rename would replace it silently).
                os.link(source, candidate)
            except FileExistsError:
                number += 1
                continue
            except OSError:  # a file system without hard links
                if candidate.exists():
                    number += 1
                    continue
                source.rename(candidate)
                return candidate
            source.unlink()
            return candidate


def _load_order(dropped: Dropped) -> tuple[str, int, int, str]:
    kind = KINDS.index(dropped.kind) if dropped.kind is not None else len(KINDS)
    return dropped.stamp, kind, dropped.mtime_ns, dropped.path.name


_claims_made = 0


def _claim_name(name: str) -> str:
    """Return a new claim folder's name: sortable by claim time, unique in this process."""
    global _claims_made  # noqa: PLW0603 - a per-process counter breaking same-microsecond ties
    _claims_made += 1
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80]
    return f"{utcnow():%Y%m%dT%H%M%S%f}-{os.getpid()}-{_claims_made:06d}-{safe}"


@dataclass
class WatchSummary:
    """What a watch run did, for its last line."""

    archived: int = 0
    failed: int = 0
    rows: int = 0
    outcomes: list[FileOutcome] = field(default_factory=list)

    def add(self, outcome: FileOutcome) -> None:
        """Count one file."""
        self.outcomes.append(outcome)
        if outcome.status == "archived":
            self.archived += 1
            self.rows += outcome.stats.read if outcome.stats else 0
        else:
            self.failed += 1


def watch(
    drop: DropFolder,
    *,
    stop: threading.Event,
    once: bool = False,
    on_file: Callable[[FileOutcome], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
    on_waiting: Callable[[list[Dropped]], None] | None = None,
) -> WatchSummary:
    """Take ready files every ``drop_poll_seconds`` until ``stop`` is set (or once)."""
    summary = WatchSummary()

    def report(outcome: FileOutcome) -> None:
        summary.add(outcome)
        if on_file is not None:
            on_file(outcome)

    while True:
        try:
            drop.run_once(stop=stop, on_file=report, wait_for_lock=once)
        except (OSError, AmigoError, SQLAlchemyError) as error:
            if once or on_error is None:
                raise
            on_error(error)  # the folder or the database went away: try again next poll
        if on_waiting is not None:
            on_waiting(drop.waiting)
        if once or stop.wait(drop.settings.drop_poll_seconds):
            return summary


__all__ = [
    "KINDS",
    "DropFolder",
    "Dropped",
    "FileOutcome",
    "WatchSummary",
    "kind_from_header",
    "watch",
]
