"""Stream the rows of export files after checking each file up front.

``open_csv_export`` and ``open_jsonl_export`` check a whole file (existence,
encoding, header or shape, truncation) and raise ``FileFormatError`` with a
one-line reason, so the loader can refuse a bad export before it writes
anything. ``rows()`` then streams the file with bounded memory: one row that
cannot be parsed comes out as a ``RawRow`` with ``error`` set, for the rejects
table, and never stops the stream.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import stat
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from amigo.core.errors import FileFormatError

__all__ = [
    "CsvExport",
    "ExportFile",
    "JsonlExport",
    "RawRow",
    "open_csv_export",
    "open_jsonl_export",
]

_CHUNK = 1 << 20
_HEAD = 64 * 1024
_NUL_WINDOW = 1024
_UTF8_BOM = codecs.BOM_UTF8
# A UTF-32 LE mark starts with the UTF-16 LE one, so UTF-32 is tested first.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_ARCHIVES = (
    (b"PK\x03\x04", "a zip archive or an Excel workbook", "save or extract it as a text file"),
    (b"\x1f\x8b", "gzip-compressed", "decompress it first"),
)
_FALLBACK_ENCODING = "cp1252"
_OTHER_DELIMITERS = (";", ",", "\t", "|")
# How many non-blank JSONL lines may fail before the file is judged not to be JSON lines.
_JSONL_PROBE_LINES = 100
_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number"}


RowFilter = Callable[[dict[str, Any]], bool]


# Not frozen: millions are made per load, and a frozen __init__ costs several times more.
@dataclass(slots=True)
class RawRow:
    """One data row of an export file, parsed or with the reason it could not be."""

    line_number: int
    ordinal: int
    raw_text: str
    data: dict[str, Any] | None
    error: str | None


class ExportFile(Protocol):
    """An export file that was checked and can be streamed row by row."""

    path: Path
    encoding: str
    size: int  # bytes, as checked
    lines: int  # newlines, as checked: the progress bar's total

    def rows(self, *, start_at: int = 0, keep: RowFilter | None = None) -> Iterator[RawRow]:
        """Stream the data rows.

        Args:
            start_at: ordinal of the first row to yield; earlier rows are
                skipped without being parsed into dicts.
            keep: if given, parsed rows it refuses are skipped (before any
                further work on them); rows that fail to parse are always yielded.

        Returns:
            The rows in file order, including rows that carry an ``error``.
        """
        ...

    def fingerprint(self) -> str:
        """Return the SHA-256 hex digest of the file's bytes.

        Returns:
            The digest, to tell whether a file changed between a load and its resume.
        """
        ...


@dataclass(slots=True)
class _Scan:
    """What one streamed pass over a file's bytes found."""

    sha256: str
    has_content: bool
    newlines: int
    last_newline: int
    bad_offset: int | None = None
    bad_byte: int = 0
    bad_line: int = 0
    bad_at_end: bool = False
    valid_non_ascii_before_bad: bool = False


class _ExportBase:
    """State and checks shared by both kinds of export file."""

    __slots__ = ("_fingerprint", "_stamp", "encoding", "lines", "path", "size")

    def __init__(self, path: Path, encoding: str, scan: _Scan, stamp: tuple[int, int]) -> None:
        self.path = path
        self.encoding = encoding
        self.size = stamp[0]
        self.lines = scan.newlines
        self._fingerprint = scan.sha256
        self._stamp = stamp

    def fingerprint(self) -> str:
        """Return the SHA-256 hex digest of the file's bytes, read again if it changed."""
        if _stamp_of(self.path) == self._stamp:
            return self._fingerprint
        digest = hashlib.sha256()
        with _open_binary(self.path) as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def _check_unchanged(self) -> None:
        # rows() trusts what open_* checked (encoding, header); a file rewritten
        # since then could fail half-way through a load, so refuse it up front.
        if _stamp_of(self.path) != self._stamp:
            raise _fail(
                self.path,
                "the file changed after it was checked",
                "wait until the export is complete and run the load again",
                problem="changed",
            )


class CsvExport(_ExportBase):
    """A checked delimited export (Cegid Y2 style) streamed as dicts of strings."""

    __slots__ = ("columns", "delimiter")

    def __init__(
        self,
        path: Path,
        *,
        encoding: str,
        delimiter: str,
        columns: tuple[str, ...],
        scan: _Scan,
        stamp: tuple[int, int],
    ) -> None:
        super().__init__(path, encoding, scan, stamp)
        self.delimiter = delimiter
        self.columns = columns

    def rows(self, *, start_at: int = 0, keep: RowFilter | None = None) -> Iterator[RawRow]:
        """Stream the data rows, skipping the first ``start_at`` of them."""
        self._check_unchanged()
        columns = self.columns
        width = len(columns)
        ordinal = 0
        with _open_text(self.path, self.encoding) as handle:
            try:
                records = _csv_records(handle, self.delimiter)
                next(records, None)  # the header, checked by open_csv_export
                for line_number, raw_text, fields, parse_error in records:
                    if fields is not None and not fields:
                        continue  # a blank line is not a row
                    if ordinal < start_at:
                        ordinal += 1
                        continue
                    if fields is None:
                        yield RawRow(line_number, ordinal, raw_text, None, parse_error)
                    elif len(fields) != width:
                        error = f"row has {len(fields)} fields, header has {width}"
                        yield RawRow(line_number, ordinal, raw_text, None, error)
                    else:
                        data = dict(zip(columns, fields, strict=True))
                        if keep is None or keep(data):
                            yield RawRow(line_number, ordinal, raw_text, data, None)
                    ordinal += 1
            except UnicodeDecodeError as exc:
                raise _changed_midway(self.path, exc) from exc


class JsonlExport(_ExportBase):
    """A checked JSON-lines export (Shopify, web forms) streamed as parsed objects."""

    __slots__ = ("_skip",)

    def __init__(self, path: Path, *, skip: int, scan: _Scan, stamp: tuple[int, int]) -> None:
        super().__init__(path, "utf-8-sig" if skip else "utf-8", scan, stamp)
        self._skip = skip

    def rows(self, *, start_at: int = 0, keep: RowFilter | None = None) -> Iterator[RawRow]:
        """Stream the data rows, skipping the first ``start_at`` of them."""
        self._check_unchanged()
        loads = orjson.loads
        ordinal = 0
        line_number = 0
        with _open_binary(self.path) as handle:
            handle.seek(self._skip)
            try:
                # Bytes, split on b"\n" only: JSON lines end in "\n" (maybe "\r\n").
                for line in handle:
                    line_number += 1
                    if line.isspace():
                        continue  # a blank line is not a row
                    if ordinal < start_at:
                        ordinal += 1
                        continue
                    try:
                        data = loads(line)
                    except orjson.JSONDecodeError as exc:
                        error = f"invalid JSON at column {exc.colno}: {exc.msg}"
                        yield RawRow(line_number, ordinal, _text_of(line), None, error)
                    else:
                        if type(data) is not dict:
                            error = f"line holds {_json_kind(data)}, not a JSON object"
                            yield RawRow(line_number, ordinal, _text_of(line), None, error)
                        elif keep is None or keep(data):
                            yield RawRow(line_number, ordinal, _text_of(line), data, None)
                    ordinal += 1
            except UnicodeDecodeError as exc:
                raise _changed_midway(self.path, exc) from exc


def _text_of(line: bytes) -> str:
    return line.decode("utf-8").rstrip("\r\n")


def open_csv_export(
    path: Path,
    *,
    required_columns: Sequence[str],
    delimiter: str = ";",
    encoding: str | None = None,
) -> CsvExport:
    """Check a delimited export and return it ready to stream."""
    if len(delimiter) != 1 or delimiter in '"\r\n':
        # A caller's mistake, not the file's: fail loudly.
        msg = f"delimiter must be one character other than a quote or newline, got {delimiter!r}"
        raise ValueError(msg)
    stamp, head = _check_file(path, remedy="re-export it as UTF-8 or Windows-1252")
    has_bom = head.startswith(_UTF8_BOM)
    skip = len(_UTF8_BOM) if has_bom else 0
    if encoding is not None:
        codec = _resolve_encoding(path, encoding, has_bom=has_bom)
        scan = _scan(path, skip=skip, encoding=codec)
        if scan.bad_offset is not None:
            raise _undecodable(path, scan, f"does not decode as {codec}", "check the encoding")
    else:
        codec = "utf-8"
        scan = _scan(path, skip=skip, encoding=codec)
        if scan.bad_offset is not None:
            codec = _detect_fallback(path, scan, has_bom=has_bom, skip=skip)
    if not scan.has_content:
        raise _empty(path, has_bom=has_bom)
    text_encoding = "utf-8-sig" if has_bom else codec
    columns = _read_header(path, text_encoding, delimiter, required_columns)
    return CsvExport(
        path,
        encoding=text_encoding,
        delimiter=delimiter,
        columns=columns,
        scan=scan,
        stamp=stamp,
    )


def open_jsonl_export(path: Path, *, required_keys: Sequence[str] = ()) -> JsonlExport:
    """Check a JSON-lines export and return it ready to stream."""
    stamp, head = _check_file(path, remedy="re-export it as UTF-8")
    skip = len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0
    scan = _scan(path, skip=skip, encoding="utf-8")
    ends_with_newline = scan.last_newline == stamp[0] - 1
    if scan.bad_offset is not None:
        if scan.bad_at_end and not ends_with_newline:
            raise _truncated(path, scan.newlines + 1)
        raise _undecodable(
            path, scan, "is not UTF-8", "JSON lines must be UTF-8: re-export it as UTF-8"
        )
    if not scan.has_content:
        raise _empty(path, has_bom=bool(skip))
    _check_json_lines_shape(path, head[skip:])
    if not ends_with_newline:
        _check_last_line(path, scan)
    export = JsonlExport(path, skip=skip, scan=scan, stamp=stamp)
    _check_first_record(export, required_keys)
    return export


# --- checks shared by both formats -------------------------------------------


def _fail(
    path: Path, problem_text: str, remedy: str, *, problem: str, **details: Any
) -> FileFormatError:
    """Build the one-line error: the file, what is wrong, what to do."""
    return FileFormatError(
        f"{path}: {problem_text}; {remedy}",
        details={"path": str(path), "problem": problem, **details},
    )


def _stamp_of(path: Path) -> tuple[int, int]:
    """Return (size, modification time) to notice a file rewritten since it was checked."""
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _unreadable(path: Path, exc: OSError) -> FileFormatError:
    """Build the error for a file the operating system will not let us read."""
    if isinstance(exc, PermissionError):
        return _fail(path, "permission denied", "make the file readable", problem="unreadable")
    reason = exc.strerror or type(exc).__name__
    return _fail(path, f"cannot be read ({reason})", "check the file", problem="unreadable")


def _open_binary(path: Path) -> IO[bytes]:
    """Open a file for reading bytes, turning OS errors into a clear FileFormatError."""
    try:
        return path.open("rb")
    except OSError as exc:
        raise _unreadable(path, exc) from exc


def _open_text(path: Path, encoding: str) -> IO[str]:
    """Open a checked file as text for the csv module (newline="" keeps quoted newlines)."""
    try:
        return path.open(encoding=encoding, newline="")
    except OSError as exc:
        raise _unreadable(path, exc) from exc


def _check_file(path: Path, *, remedy: str) -> tuple[tuple[int, int], bytes]:
    """Check that the path is a readable, non-empty text file; return its stamp and head."""
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise _fail(
            path, "file not found", "check the export directory", problem="missing"
        ) from exc
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if stat.S_ISDIR(info.st_mode):
        raise _fail(
            path, "is a directory, not a file", "point to the export file", problem="directory"
        )
    if not stat.S_ISREG(info.st_mode):
        raise _fail(
            path, "is not a regular file", "copy the export to a plain file", problem="not_a_file"
        )
    with _open_binary(path) as handle:
        head = handle.read(_HEAD)
    if not head:
        raise _empty(path, has_bom=False)
    for mark, name in _WIDE_BOMS:
        if head.startswith(mark):
            raise _fail(
                path,
                f"starts with a {name} byte-order mark, looks like {name}",
                remedy,
                problem="encoding",
                encoding=name,
            )
    for magic, what, fix in _ARCHIVES:
        if head.startswith(magic):
            raise _fail(path, f"looks like {what}, not a text export", fix, problem="binary")
    nul = head.find(b"\x00", 0, _NUL_WINDOW)
    if nul >= 0:
        raise _fail(
            path,
            f"contains NUL bytes (first at byte offset {nul}), looks like UTF-16",
            remedy,
            problem="encoding",
            offset=nul,
        )
    return (info.st_size, info.st_mtime_ns), head


def _scan(path: Path, *, skip: int, encoding: str) -> _Scan:
    """Read the whole file once in chunks: hash it, count lines, find the first undecodable byte."""
    digest = hashlib.sha256()
    decoder: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder(encoding)()
    offset = 0  # of the current chunk in the file
    newlines = 0
    last_newline = -1
    has_content = False
    non_ascii = False  # whether text decoded so far had any non-ASCII character
    found: _Scan = _Scan("", has_content=False, newlines=0, last_newline=-1)
    with _open_binary(path) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            body = chunk[skip:] if offset == 0 and skip else chunk
            body_start = offset + len(chunk) - len(body)
            if not has_content and body.strip():
                has_content = True
            if decoder is not None:
                pending = len(decoder.getstate()[0])
                try:
                    non_ascii = not decoder.decode(body).isascii() or non_ascii
                except UnicodeDecodeError as exc:
                    decoder = None
                    _note_bad(
                        found,
                        non_ascii=non_ascii,
                        exc=exc,
                        input_start=body_start - pending,
                        chunk=chunk,
                        chunk_start=offset,
                        newlines_before=newlines,
                    )
            newlines += chunk.count(b"\n")
            position = chunk.rfind(b"\n")
            if position >= 0:
                last_newline = offset + position
            offset += len(chunk)
    if decoder is not None:
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(b"", True)
        except UnicodeDecodeError as exc:
            _note_bad(
                found,
                non_ascii=non_ascii,
                exc=exc,
                input_start=offset - pending,
                chunk=b"",
                chunk_start=offset,
                newlines_before=newlines,
            )
            found.bad_at_end = True
    found.sha256 = digest.hexdigest()
    found.has_content = has_content
    found.newlines = newlines
    found.last_newline = last_newline
    return found


def _note_bad(
    found: _Scan,
    *,
    non_ascii: bool,
    exc: UnicodeDecodeError,
    input_start: int,
    chunk: bytes,
    chunk_start: int,
    newlines_before: int,
) -> None:
    """Record where decoding failed, in file terms (offset, byte, line)."""
    bad = input_start + exc.start
    found.bad_offset = bad
    found.bad_byte = exc.object[exc.start]
    found.bad_line = newlines_before + chunk.count(b"\n", 0, max(0, bad - chunk_start)) + 1
    # Everything before exc.start decoded, so any non-ASCII byte there was valid.
    found.valid_non_ascii_before_bad = non_ascii or not exc.object[: exc.start].isascii()


def _resolve_encoding(path: Path, name: str, *, has_bom: bool) -> str:
    """Check an encoding the caller forced and return the codec's canonical name."""
    try:
        codec = codecs.lookup(name).name
        if codec == "utf-8-sig":
            codec = "utf-8"  # the mark is handled separately
        # The csv module needs delimiters, quotes and newlines to be single ASCII bytes.
        ascii_compatible = 'A;,"\r\n'.encode(codec) == b'A;,"\r\n'
    except LookupError as exc:
        raise _fail(
            path,
            f"unknown encoding {name!r}",
            "use a Python codec name such as utf-8 or cp1252",
            problem="encoding",
            encoding=name,
        ) from exc
    if not ascii_compatible:
        raise _fail(
            path,
            f"encoding {name!r} is not supported",
            "use an ASCII-compatible encoding such as utf-8 or cp1252",
            problem="encoding",
            encoding=name,
        )
    if has_bom and codec != "utf-8":
        raise _fail(
            path,
            f"starts with a UTF-8 byte-order mark but encoding {name!r} was requested",
            "drop the forced encoding or force utf-8",
            problem="encoding",
            encoding=name,
        )
    return codec


def _detect_fallback(path: Path, utf8: _Scan, *, has_bom: bool, skip: int) -> str:
    """Pick Windows-1252 for a file that is not UTF-8, or explain why neither fits."""
    if has_bom:
        raise _undecodable(
            path,
            utf8,
            "starts with a UTF-8 byte-order mark but is not UTF-8",
            "re-export it in a single encoding",
        )
    if utf8.valid_non_ascii_before_bad:
        # Decoding it all as Windows-1252 would garble every UTF-8 accent before
        # that byte ("RÃ©gis") into the golden profiles: refuse instead.
        raise _undecodable(
            path,
            utf8,
            "mixes encodings: it has UTF-8 accented text but is not UTF-8",
            "re-export it in a single encoding or force the encoding explicitly",
        )
    fallback = _scan(path, skip=skip, encoding=_FALLBACK_ENCODING)
    if fallback.bad_offset is not None:
        raise _undecodable(
            path,
            fallback,
            "unknown encoding, neither UTF-8 nor Windows-1252",
            "re-export it as UTF-8 or Windows-1252, or force the encoding explicitly",
        )
    return _FALLBACK_ENCODING


def _undecodable(path: Path, scan: _Scan, problem_text: str, remedy: str) -> FileFormatError:
    """Build the error for a byte that does not decode, naming where it is."""
    return _fail(
        path,
        f"{problem_text} (byte 0x{scan.bad_byte:02X} at byte offset {scan.bad_offset}, "
        f"line {scan.bad_line})",
        remedy,
        problem="encoding",
        offset=scan.bad_offset,
        line=scan.bad_line,
    )


def _empty(path: Path, *, has_bom: bool) -> FileFormatError:
    """Build the error for a file with no content."""
    what = "is empty (only a byte-order mark and whitespace)" if has_bom else "is empty"
    return _fail(path, what, "re-export it or remove it from the directory", problem="empty")


def _changed_midway(path: Path, exc: UnicodeDecodeError) -> FileFormatError:
    """Build the error for a file that stopped decoding after it was checked."""
    return _fail(
        path,
        f"the file changed after it was checked ({exc.reason})",
        "wait until the export is complete and run the load again",
        problem="changed",
    )


def _clip(text: str, limit: int = 40) -> str:
    """Show a value from the file on one short line."""
    shown = text if text.isprintable() else repr(text)[1:-1]
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


# --- CSV ---------------------------------------------------------------------


class _LineFeed:
    """Feed csv.reader one record's physical lines and keep them for raw_text."""

    __slots__ = ("first", "lines", "taken")

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.first: str | None = None
        self.taken: list[str] = []

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        line = self.first
        if line is None:
            line = next(self.lines)
        else:
            self.first = None
        self.taken.append(line)
        return line


def _csv_records(
    lines: Iterator[str], delimiter: str
) -> Iterator[tuple[int, str, list[str] | None, str | None]]:
    """Yield (start line, raw text, fields or None, parse error) per record; [] is a blank line."""
    feed = _LineFeed(lines)
    reader = csv.reader(feed, delimiter=delimiter, quotechar='"')
    line_number = 0
    for line in lines:
        line_number += 1
        if '"' not in line:
            # Without a quote a line is one whole record and the csv module would
            # split it exactly like str.split; skipping it is ~20% faster.
            text = line.rstrip("\r\n")
            yield line_number, text, text.split(delimiter) if text else [], None
            continue
        feed.first = line
        feed.taken = []
        fields: list[str] | None
        try:
            fields = next(reader)
            error = None
        except csv.Error as exc:
            # e.g. a stray quote swallowing lines past the field size limit; the
            # reader starts afresh on the next line, so the stream goes on.
            fields, error = None, f"cannot parse row: {exc}"
        yield line_number, "".join(feed.taken).rstrip("\r\n"), fields, error
        line_number += len(feed.taken) - 1


def _read_header(
    path: Path, encoding: str, delimiter: str, required: Sequence[str]
) -> tuple[str, ...]:
    """Read and check the header row; return the column names, stripped of spaces."""
    with _open_text(path, encoding) as handle:
        _, raw_header, fields, _ = next(_csv_records(handle, delimiter))
    if not fields:
        raise _fail(
            path,
            "line 1 is blank",
            "the first line must be the header with the column names",
            problem="header",
        )
    if len(fields) == 1:
        _check_delimiter(path, raw_header, delimiter)
    columns = tuple(name.strip() for name in fields)
    duplicates = [name for name, count in Counter(columns).items() if count > 1]
    if duplicates:
        shown = ", ".join(repr(_clip(name)) if name else "(empty)" for name in duplicates)
        raise _fail(
            path,
            f"duplicate column names in the header: {shown}",
            "give every column a distinct name",
            problem="duplicate_columns",
            duplicates=duplicates,
        )
    missing = [name for name in required if name not in columns]
    if missing:
        raise _missing_columns(path, missing, columns)
    return columns


def _check_delimiter(path: Path, raw_header: str, delimiter: str) -> None:
    """Refuse a header that has none of the expected delimiter but another one."""
    counts = {other: raw_header.count(other) for other in _OTHER_DELIMITERS if other != delimiter}
    likely = max(counts, key=lambda other: counts[other])
    if counts[likely]:
        raise _fail(
            path,
            f"expected {delimiter!r}-separated columns but the header looks {likely!r}-separated",
            f"re-export it with {delimiter!r} as the separator",
            problem="delimiter",
            expected=delimiter,
            found=likely,
        )


def _missing_columns(path: Path, missing: list[str], columns: tuple[str, ...]) -> FileFormatError:
    """Build the error listing missing required columns and the columns found."""
    found = ", ".join(_clip(name) for name in columns[:8])
    if len(columns) > 8:
        found += ", …"
    lowered = {name.casefold(): name for name in columns}
    hints = [f"{lowered[name.casefold()]!r}" for name in missing if name.casefold() in lowered]
    hint = f"; found {', '.join(hints)} in another case (names are case-sensitive)" if hints else ""
    return _fail(
        path,
        f"missing required column(s) {', '.join(missing)}{hint}; "
        f"the header has {len(columns)} column(s): {found}",
        "check that this is the right export and that it has every column",
        problem="missing_columns",
        missing=missing,
        columns=list(columns),
    )


# --- JSON lines --------------------------------------------------------------


def _json_kind(value: object) -> str:
    """Name a parsed JSON value's type as a user reads it."""
    if value is None:
        return "null"
    if type(value) is bool:
        return "a boolean"
    return _JSON_KINDS.get(type(value), "a non-object value")


def _check_json_lines_shape(path: Path, head: bytes) -> None:
    """Refuse a JSON array or a pretty-printed document given instead of JSON lines."""
    start = head.lstrip()
    remedy = "write one compact JSON object per line (JSON lines), e.g. a bulk-operation export"
    if start.startswith(b"["):
        raise _fail(
            path,
            "expected JSON lines (one object per line) but the file is one JSON array",
            remedy,
            problem="not_json_lines",
        )
    for number, line in enumerate(head.split(b"\n"), start=1):
        if line.strip():
            if line.strip() == b"{":
                raise _fail(
                    path,
                    "expected JSON lines (one object per line) but the file is pretty-printed "
                    f"JSON (line {number} is just '{{')",
                    remedy,
                    problem="not_json_lines",
                    line=number,
                )
            return


def _check_last_line(path: Path, scan: _Scan) -> None:
    """Refuse a file whose last line, with no final newline, is a cut-off JSON record."""
    with _open_binary(path) as handle:
        handle.seek(scan.last_newline + 1)
        tail = handle.read()  # only the last line: the cheap way to spot a truncated export
    if tail.startswith(_UTF8_BOM):
        tail = tail[len(_UTF8_BOM) :]
    if not tail.strip():
        return
    try:
        orjson.loads(tail)
    except orjson.JSONDecodeError as exc:
        raise _truncated(path, scan.newlines + 1) from exc


def _truncated(path: Path, line: int) -> FileFormatError:
    """Build the error for a file cut off in the middle of its last record."""
    return _fail(
        path,
        f"file looks truncated: line {line} ends in the middle of a JSON record",
        "export it again and check that the transfer completed",
        problem="truncated",
        line=line,
    )


def _check_first_record(export: JsonlExport, required_keys: Sequence[str]) -> None:
    """Check the first valid record: a REST page instead of a resource, missing keys."""
    first_bad: RawRow | None = None
    examined = 0
    for row in export.rows():
        if row.data is not None:
            _check_record_keys(export.path, row, required_keys)
            return
        first_bad = first_bad or row
        examined += 1
        if examined >= _JSONL_PROBE_LINES:
            break
    if first_bad is not None:
        # A few bad lines are rejects; a file with no object at its start is the wrong file.
        raise _fail(
            export.path,
            f"not JSON lines: none of the first {examined} non-blank line(s) is a JSON object "
            f"(line {first_bad.line_number}: {first_bad.error})",
            "check that this is the right file, with one JSON object per line",
            problem="not_json_lines",
            line=first_bad.line_number,
        )


def _check_record_keys(path: Path, row: RawRow, required_keys: Sequence[str]) -> None:
    """Refuse a REST page wrapper, then a first record without the required keys."""
    data = row.data or {}
    if len(data) == 1:
        ((key, value),) = data.items()
        if type(value) is list:
            raise _fail(
                path,
                f"expected JSON lines (one object per line) but line {row.line_number} is an "
                f'API page {{"{_clip(key)}": [...]}}',
                "write each resource of the list on its own line",
                problem="not_json_lines",
                line=row.line_number,
            )
    missing = [key for key in required_keys if key not in data]
    if missing:
        found = ", ".join(_clip(key) for key in list(data)[:8])
        if len(data) > 8:
            found += ", …"
        raise _fail(
            path,
            f"the first record (line {row.line_number}) lacks required key(s) "
            f"{', '.join(missing)}; it has: {found or 'no keys'}",
            "check that this is the right export",
            problem="missing_keys",
            missing=missing,
            line=row.line_number,
        )
