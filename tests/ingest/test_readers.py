"""Tests for the export file readers: up-front file checks, row streaming, memory."""

from __future__ import annotations

import csv
import hashlib
import itertools
import os
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amigo.core.errors import FileFormatError
from amigo.ingest.readers import (
    CsvExport,
    ExportFile,
    JsonlExport,
    RawRow,
    open_csv_export,
    open_jsonl_export,
)

HEADER = "CustomerId;FirstName;LastName"
REQUIRED = ("CustomerId", "LastName")

Opener = Callable[[Path], ExportFile]


class Writer(Protocol):
    """Write content to a new file and return its path."""

    def __call__(self, content: str | bytes, suffix: str = ".csv") -> Path: ...


def _open_csv(path: Path) -> ExportFile:
    return open_csv_export(path, required_columns=REQUIRED)


def _open_jsonl(path: Path) -> ExportFile:
    return open_jsonl_export(path)


OPENERS = [pytest.param(_open_csv, id="csv"), pytest.param(_open_jsonl, id="jsonl")]


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """Write content to a fresh file in tmp_path and return its path."""
    counter = itertools.count()

    def _write(content: str | bytes, suffix: str = ".csv") -> Path:
        path = tmp_path / f"export{next(counter)}{suffix}"
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return _write


def _error_of(call: Callable[[], object], *fragments: str) -> FileFormatError:
    """Run call, expect a one-line FileFormatError naming every fragment, and return it."""
    with pytest.raises(FileFormatError) as caught:
        call()
    error = caught.value
    assert "\n" not in error.message
    for fragment in fragments:
        assert fragment in error.message
    assert isinstance(error.details, dict)
    assert "path" in error.details
    assert error.details["path"] in error.message
    return error


def _csv_error(path: Path, *fragments: str, **options: Any) -> FileFormatError:
    options.setdefault("required_columns", REQUIRED)
    return _error_of(lambda: open_csv_export(path, **options), *fragments)


def _jsonl_error(path: Path, *fragments: str, **options: Any) -> FileFormatError:
    return _error_of(lambda: open_jsonl_export(path, **options), *fragments)


def _summary(rows: list[RawRow]) -> list[tuple[int, int, str | None]]:
    return [(row.line_number, row.ordinal, row.error) for row in rows]


# --- file-level checks common to both formats --------------------------------


@pytest.mark.parametrize("opener", OPENERS)
def test_missing_file_is_named(tmp_path: Path, opener: Opener) -> None:
    path = tmp_path / "customers.csv"
    error = _error_of(lambda: opener(path), "file not found")
    assert error.details["problem"] == "missing"


@pytest.mark.parametrize("opener", OPENERS)
def test_directory_is_refused(tmp_path: Path, opener: Opener) -> None:
    _error_of(lambda: opener(tmp_path), "is a directory")


@pytest.mark.parametrize("opener", OPENERS)
def test_fifo_is_refused(tmp_path: Path, opener: Opener) -> None:
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    _error_of(lambda: opener(path), "not a regular file")


@pytest.mark.parametrize("opener", OPENERS)
def test_unreadable_file_is_refused(
    write: Writer, monkeypatch: pytest.MonkeyPatch, opener: Opener
) -> None:
    # The suite runs as root, where chmod 000 does not stop reading: fake the OS answer.
    path = write(f"{HEADER}\n1;A;B\n")
    real_open = Path.open

    def refusing_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refusing_open)
    _error_of(lambda: opener(path), "permission denied")


@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize(
    "content",
    [b"", b"\xef\xbb\xbf", b"   \r\n\n\t ", b"\xef\xbb\xbf\n\n"],
    ids=["zero-bytes", "bom-only", "whitespace", "bom-and-newlines"],
)
def test_empty_file_is_an_error(write: Writer, opener: Opener, content: bytes) -> None:
    error = _error_of(lambda: opener(write(content)), "is empty")
    assert error.details["problem"] == "empty"


@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize(
    ("encoding", "name"),
    [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-32", "UTF-32")],
)
def test_wide_encodings_are_refused(
    write: Writer, opener: Opener, encoding: str, name: str
) -> None:
    # utf-16 and utf-32 write a byte-order mark; utf-16-le/-be do not, only NUL bytes show.
    path = write(f"{HEADER}\n1;Régis;Hervé\n".encode(encoding))
    error = _error_of(lambda: opener(path), f"looks like {name}", "re-export it as UTF-8")
    assert error.details["problem"] == "encoding"


@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
        (b"\x1f\x8b\x08\x00\x00\x00", "gzip-compressed"),
    ],
)
def test_binary_files_are_named(
    write: Writer, opener: Opener, content: bytes, fragment: str
) -> None:
    _error_of(lambda: opener(write(content)), fragment)


@pytest.mark.parametrize("opener", OPENERS)
def test_fingerprint_is_the_sha256_of_the_bytes(write: Writer, opener: Opener) -> None:
    content = (HEADER + "\n1;A;B\n").encode() if opener is _open_csv else b'{"a": 1}\n'
    path = write(content)
    export = opener(path)
    assert export.fingerprint() == hashlib.sha256(content).hexdigest()
    assert opener(path).fingerprint() == export.fingerprint()
    path.write_bytes(content + content[-8:])
    assert export.fingerprint() == hashlib.sha256(content + content[-8:]).hexdigest()


@pytest.mark.parametrize("opener", OPENERS)
def test_file_changed_after_the_check_is_refused(write: Writer, opener: Opener) -> None:
    content = (HEADER + "\n1;A;B\n").encode() if opener is _open_csv else b'{"a": 1}\n'
    path = write(content)
    export = opener(path)
    path.write_bytes(content + b"\xff\xfe garbage that no longer decodes\n")
    _error_of(lambda: list(export.rows()), "changed after it was checked")


# --- CSV ---------------------------------------------------------------------


def test_csv_rows_are_dicts_of_strings(write: Writer) -> None:
    path = write(f"{HEADER};Email\nPAR01;Régis;HERVÉ;\nPAR02;;Müller;m@x.fr\n")
    export = open_csv_export(path, required_columns=REQUIRED)
    assert isinstance(export, CsvExport)
    assert export.encoding == "utf-8"
    assert export.columns == ("CustomerId", "FirstName", "LastName", "Email")
    rows = list(export.rows())
    assert rows == [
        RawRow(
            2,
            0,
            "PAR01;Régis;HERVÉ;",
            {"CustomerId": "PAR01", "FirstName": "Régis", "LastName": "HERVÉ", "Email": ""},
            None,
        ),
        RawRow(
            3,
            1,
            "PAR02;;Müller;m@x.fr",
            {"CustomerId": "PAR02", "FirstName": "", "LastName": "Müller", "Email": "m@x.fr"},
            None,
        ),
    ]


def test_csv_header_only_has_zero_rows(write: Writer) -> None:
    export = open_csv_export(write(HEADER + "\r\n"), required_columns=REQUIRED)
    assert list(export.rows()) == []


def test_csv_crlf_and_blank_lines(write: Writer) -> None:
    path = write(f"{HEADER}\r\n1;A;B\r\n\r\n2;C;D\r\n\r\n")
    rows = list(open_csv_export(path, required_columns=REQUIRED).rows())
    assert _summary(rows) == [(2, 0, None), (4, 1, None)]
    assert rows[1].raw_text == "2;C;D"
    assert rows[1].data == {"CustomerId": "2", "FirstName": "C", "LastName": "D"}


def test_csv_utf8_bom_is_stripped(write: Writer) -> None:
    path = write(b"\xef\xbb\xbf" + f"{HEADER}\n1;Régis;Hervé\n".encode())
    export = open_csv_export(path, required_columns=("CustomerId",))
    assert export.encoding == "utf-8-sig"
    assert export.columns[0] == "CustomerId"
    [row] = export.rows()
    assert row.data == {"CustomerId": "1", "FirstName": "Régis", "LastName": "Hervé"}
    assert row.raw_text == "1;Régis;Hervé"


def test_csv_cp1252_is_detected(write: Writer) -> None:
    path = write(f"{HEADER}\nPAR01;Régis;Hervé\nBER01;Jürgen;Müller – “VIP”\n".encode("cp1252"))
    export = open_csv_export(path, required_columns=REQUIRED)
    assert export.encoding == "cp1252"
    rows = list(export.rows())
    assert [row.data for row in rows] == [
        {"CustomerId": "PAR01", "FirstName": "Régis", "LastName": "Hervé"},
        {"CustomerId": "BER01", "FirstName": "Jürgen", "LastName": "Müller – “VIP”"},
    ]


def test_csv_neither_utf8_nor_cp1252_names_the_byte(write: Writer) -> None:
    content = f"{HEADER}\n1;A;B\n2;C;".encode() + b"\x81\n"
    error = _csv_error(
        write(content), "unknown encoding", "0x81", f"byte offset {len(content) - 2}", "line 3"
    )
    assert error.details["offset"] == len(content) - 2


def test_csv_mixed_encodings_are_refused(write: Writer) -> None:
    # Read as Windows-1252, the UTF-8 "é" of line 2 would become "Ã©" in the profiles.
    content = f"{HEADER}\n1;Régis;A\n".encode() + "2;Hervé;B\n".encode("cp1252")
    _csv_error(write(content), "mixes encodings", "line 3", "force the encoding")


def test_csv_mixed_encodings_far_apart_are_refused(write: Writer) -> None:
    # The UTF-8 accent and the Windows-1252 byte sit in different read chunks.
    content = (
        f"{HEADER}\n1;Régis;A\n".encode() + b"2;Jean;B\n" * 150_000 + "3;Hervé;C\n".encode("cp1252")
    )
    _csv_error(write(content), "mixes encodings", "line 150003")


def test_csv_utf8_bom_with_invalid_utf8_is_refused(write: Writer) -> None:
    content = b"\xef\xbb\xbf" + f"{HEADER}\n".encode() + "1;Hervé;B\n".encode("cp1252")
    _csv_error(write(content), "byte-order mark but is not UTF-8", "line 2")


def test_csv_explicit_encoding(write: Writer) -> None:
    path = write(f"{HEADER}\n1;Ÿvon;Œuvre\n".encode("cp1252"))
    export = open_csv_export(path, required_columns=REQUIRED, encoding="windows-1252")
    assert export.encoding == "cp1252"
    [row] = export.rows()
    assert row.data == {"CustomerId": "1", "FirstName": "Ÿvon", "LastName": "Œuvre"}
    # The same bytes forced as Latin-1 decode too, differently: the caller chose.
    latin1 = open_csv_export(path, required_columns=REQUIRED, encoding="latin-1")
    assert latin1.encoding == "iso8859-1"
    [row] = latin1.rows()
    assert row.data is not None
    assert row.data["LastName"] == "\x8cuvre"


def test_csv_explicit_encoding_that_does_not_decode(write: Writer) -> None:
    content = f"{HEADER}\n1;Hervé;B\n".encode("cp1252")
    offset = content.index(b"\xe9")
    _csv_error(
        write(content),
        "does not decode as utf-8",
        f"byte offset {offset}",
        "0xE9",
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    ("encoding", "fragment"),
    [("klingon-8", "unknown encoding 'klingon-8'"), ("base64", "unknown encoding 'base64'")],
)
def test_csv_unknown_explicit_encoding(write: Writer, encoding: str, fragment: str) -> None:
    _csv_error(write(f"{HEADER}\n1;A;B\n"), fragment, encoding=encoding)


def test_csv_wide_explicit_encoding_is_not_supported(write: Writer) -> None:
    _csv_error(write(f"{HEADER}\n1;A;B\n"), "'utf-16' is not supported", encoding="utf-16")


def test_csv_bom_contradicting_explicit_encoding(write: Writer) -> None:
    path = write(b"\xef\xbb\xbf" + f"{HEADER}\n1;A;B\n".encode())
    _csv_error(path, "byte-order mark but encoding 'cp1252' was requested", encoding="cp1252")
    assert open_csv_export(path, required_columns=REQUIRED, encoding="utf-8").columns[0] == (
        "CustomerId"
    )


@pytest.mark.parametrize(("separator", "shown"), [(",", "','"), ("\t", "'\\t'"), ("|", "'|'")])
def test_csv_wrong_delimiter(write: Writer, separator: str, shown: str) -> None:
    header = HEADER.replace(";", separator)
    error = _csv_error(
        write(f"{header}\n1{separator}A{separator}B\n"),
        f"expected ';'-separated columns but the header looks {shown}-separated",
    )
    assert error.details["problem"] == "delimiter"


def test_csv_other_delimiter_on_request(write: Writer) -> None:
    path = write('CustomerId,LastName\n1,"Dupont; fils"\n')
    [row] = open_csv_export(path, required_columns=REQUIRED, delimiter=",").rows()
    assert row.data == {"CustomerId": "1", "LastName": "Dupont; fils"}
    _csv_error(path, "header looks ','-separated")


def test_csv_single_column_file_is_fine(write: Writer) -> None:
    path = write("CustomerId\nPAR01\n")
    [row] = open_csv_export(path, required_columns=("CustomerId",)).rows()
    assert row.data == {"CustomerId": "PAR01"}


def test_csv_missing_required_columns(write: Writer) -> None:
    path = write("CustomerId;FirstName;lastname;Email\n1;A;B;C\n")
    error = _csv_error(
        path,
        "missing required column(s) LastName, Phone",
        "found 'lastname' in another case",
        "the header has 4 column(s): CustomerId, FirstName, lastname, Email",
        required_columns=("CustomerId", "LastName", "Phone"),
    )
    assert error.details["missing"] == ["LastName", "Phone"]


def test_csv_column_names_are_trimmed(write: Writer) -> None:
    path = write("CustomerId ; LastName\n1;B\n")
    assert open_csv_export(path, required_columns=REQUIRED).columns == ("CustomerId", "LastName")


def test_csv_duplicate_columns(write: Writer) -> None:
    error = _csv_error(
        write("CustomerId;LastName;Email;Email\n1;B;C;D\n"), "duplicate column names", "'Email'"
    )
    assert error.details["duplicates"] == ["Email"]


def test_csv_duplicate_empty_column_names(write: Writer) -> None:
    _csv_error(write("CustomerId;LastName;;\n1;B;;\n"), "duplicate column names", "(empty)")


def test_csv_trailing_delimiter_gives_one_empty_column(write: Writer) -> None:
    [row] = open_csv_export(write("CustomerId;LastName;\n1;B;\n"), required_columns=REQUIRED).rows()
    assert row.data == {"CustomerId": "1", "LastName": "B", "": ""}


def test_csv_fully_quoted_export(write: Writer) -> None:
    content = '"CustomerId";"FirstName";"LastName"\r\n"1";"Régis";"Hervé"\r\n"2";"";"a;b"\r\n'
    export = open_csv_export(write(content), required_columns=REQUIRED)
    assert export.columns == ("CustomerId", "FirstName", "LastName")
    rows = list(export.rows())
    assert _summary(rows) == [(2, 0, None), (3, 1, None)]
    assert rows[1].data == {"CustomerId": "2", "FirstName": "", "LastName": "a;b"}
    assert rows[1].raw_text == '"2";"";"a;b"'


def test_csv_blank_first_line(write: Writer) -> None:
    _csv_error(write(f"\n{HEADER}\n1;A;B\n"), "line 1 is blank")


def test_csv_quoted_multiline_fields_keep_line_numbers(write: Writer) -> None:
    content = (
        f"{HEADER};Note\n"
        '1;A;B;"first line\r\nsecond line"\r\n'
        '2;"Dupont; fils";"He said ""hi""";\r\n'
        '3;C;D;"a\n\nb\nc"\n'
        "4;E;F;plain\n"
    )
    rows = list(open_csv_export(write(content), required_columns=REQUIRED).rows())
    assert _summary(rows) == [(2, 0, None), (4, 1, None), (5, 2, None), (9, 3, None)]
    assert rows[0].data is not None
    assert rows[0].data["Note"] == "first line\r\nsecond line"
    assert rows[0].raw_text == '1;A;B;"first line\r\nsecond line"'
    assert rows[1].data == {
        "CustomerId": "2",
        "FirstName": "Dupont; fils",
        "LastName": 'He said "hi"',
        "Note": "",
    }
    assert rows[2].raw_text == '3;C;D;"a\n\nb\nc"'
    assert rows[3].data is not None
    assert rows[3].data["Note"] == "plain"


def test_csv_row_with_wrong_field_count_is_a_row_error(write: Writer) -> None:
    content = f"{HEADER}\n1;A;B\n2;C\n3;D;E;F;G\n\n4;H;I\n"
    rows = list(open_csv_export(write(content), required_columns=REQUIRED).rows())
    assert _summary(rows) == [
        (2, 0, None),
        (3, 1, "row has 2 fields, header has 3"),
        (4, 2, "row has 5 fields, header has 3"),
        (6, 3, None),
    ]
    assert rows[1].data is None
    assert rows[1].raw_text == "2;C"
    assert rows[3].data == {"CustomerId": "4", "FirstName": "H", "LastName": "I"}


def test_csv_stray_quote_past_the_field_limit_is_a_row_error(
    write: Writer,
) -> None:
    # An unclosed quote swallows the following lines until the csv field size limit.
    long_note = "x" * 200_000
    content = f'{HEADER}\n1;A;B\n2;"{long_note}\n3;C;D\n4;E;F\n'
    rows = list(open_csv_export(write(content), required_columns=REQUIRED).rows())
    assert [(row.line_number, row.ordinal) for row in rows] == [(2, 0), (3, 1), (4, 2), (5, 3)]
    assert rows[1].error is not None
    assert "field larger than field limit" in rows[1].error
    assert rows[1].raw_text == f'2;"{long_note}'
    assert rows[3].data == {"CustomerId": "4", "FirstName": "E", "LastName": "F"}


def test_csv_start_at_skips_rows_and_keeps_line_numbers(write: Writer) -> None:
    content = f'{HEADER}\n1;A;B\n\n2;"multi\nline";C\n3;bad\n4;D;E\n5;"x";F\n'
    export = open_csv_export(write(content), required_columns=REQUIRED)
    full = list(export.rows())
    assert [row.ordinal for row in full] == [0, 1, 2, 3, 4]
    for start in range(7):
        assert list(export.rows(start_at=start)) == full[start:]


_FIELD_TEXT = st.lists(
    st.sampled_from(["a", "é", " ", ";", ",", '"', "\n", "\r", "\r\n"]), max_size=6
).map("".join)


@settings(max_examples=150, deadline=None)
@given(
    records=st.lists(st.lists(_FIELD_TEXT, min_size=3, max_size=3), max_size=6),
    quote_all=st.booleans(),
    terminator=st.sampled_from(["\r\n", "\n"]),
)
def test_csv_reads_what_the_csv_module_writes(
    records: list[list[str]], quote_all: bool, terminator: str
) -> None:
    columns = HEADER.split(";")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "export.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            if quote_all:
                writer = csv.writer(handle, delimiter=";", quoting=csv.QUOTE_ALL)
            else:
                writer = csv.writer(handle, delimiter=";", lineterminator=terminator)
            writer.writerow(columns)
            writer.writerows(records)
        with path.open(encoding="utf-8", newline="") as handle:
            reference = csv.reader(handle, delimiter=";")
            # line_num is the last line of the record just read, so the next one starts after.
            parsed = []
            start = 1
            for fields in reference:
                parsed.append((start, fields))
                start = reference.line_num + 1
        rows = list(open_csv_export(path, required_columns=REQUIRED).rows())
    # csv.reader gives [] for a blank line, which is not a row; an unquoted "\r" written
    # with a "\n" terminator breaks a record into rows of the wrong width.
    expected = [(start, fields) for start, fields in parsed[1:] if fields]
    assert [(row.line_number, row.data) for row in rows] == [
        (start, dict(zip(columns, fields, strict=True)) if len(fields) == 3 else None)
        for start, fields in expected
    ]
    if quote_all or terminator == "\r\n":
        # Then csv.writer quotes every newline character, so the text round-trips.
        assert [row.data for row in rows] == [
            dict(zip(columns, fields, strict=True)) for fields in records
        ]


# --- JSON lines --------------------------------------------------------------


def test_jsonl_rows_are_objects(write: Writer) -> None:
    content = b'{"id": 1, "email": "a@x.fr"}\r\n\n  \n{"id": 2, "first_name": "R\xc3\xa9gis"}\n'
    export = open_jsonl_export(write(content, ".jsonl"), required_keys=("id",))
    assert isinstance(export, JsonlExport)
    assert export.encoding == "utf-8"
    rows = list(export.rows())
    assert rows == [
        RawRow(1, 0, '{"id": 1, "email": "a@x.fr"}', {"id": 1, "email": "a@x.fr"}, None),
        RawRow(4, 1, '{"id": 2, "first_name": "Régis"}', {"id": 2, "first_name": "Régis"}, None),
    ]


def test_jsonl_utf8_bom_is_accepted(write: Writer) -> None:
    export = open_jsonl_export(write(b'\xef\xbb\xbf{"id": 1}\n{"id": 2}\n', ".jsonl"))
    assert export.encoding == "utf-8-sig"
    assert [row.data for row in export.rows()] == [{"id": 1}, {"id": 2}]


def test_jsonl_bad_lines_mid_file_are_row_errors(write: Writer) -> None:
    content = b'{"id": 1}\n{"id": 2,\n\n[1, 2]\n"text"\nnull\n{"id": 3}\n{"id":\n'
    rows = list(open_jsonl_export(write(content, ".jsonl")).rows())
    assert [(row.line_number, row.ordinal) for row in rows] == [
        (1, 0),
        (2, 1),
        (4, 2),
        (5, 3),
        (6, 4),
        (7, 5),
        (8, 6),
    ]
    errors = [row.error for row in rows]
    assert errors[0] is None
    assert errors[1] is not None
    assert errors[1].startswith("invalid JSON at column")
    assert errors[2:5] == [
        "line holds an array, not a JSON object",
        "line holds a string, not a JSON object",
        "line holds null, not a JSON object",
    ]
    assert rows[5].data == {"id": 3}
    # The file ends with a newline: the last bad line is a reject, not a truncation.
    assert errors[6] is not None
    assert rows[6].raw_text == '{"id":'


def test_jsonl_truncated_last_line(write: Writer) -> None:
    path = write(b'{"id": 1}\n\n{"id": 2}\n{"id": 3, "email": "a@', ".jsonl")
    error = _jsonl_error(path, "file looks truncated: line 4 ends in the middle of a JSON record")
    assert error.details["line"] == 4


def test_jsonl_truncated_inside_a_utf8_character(write: Writer) -> None:
    path = write('{"id": 1}\n{"first_name": "Ré'.encode()[:-1], ".jsonl")
    _jsonl_error(path, "file looks truncated: line 2")


def test_jsonl_complete_last_line_without_newline_is_fine(
    write: Writer,
) -> None:
    export = open_jsonl_export(write(b'{"id": 1}\n{"id": 2}', ".jsonl"))
    assert [row.data for row in export.rows()] == [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'[{"id": 1}, {"id": 2}]', "the file is one JSON array"),
        (b'\n  [\n  {"id": 1}\n]\n', "the file is one JSON array"),
        (b'{\n  "id": 1\n}\n', "pretty-printed JSON (line 1 is just '{')"),
        (b'{"customers": [{"id": 1}, {"id": 2}]}\n', 'line 1 is an API page {"customers": [...]}'),
    ],
    ids=["array", "pretty-array", "pretty-object", "rest-page"],
)
def test_jsonl_whole_documents_are_refused(write: Writer, content: bytes, fragment: str) -> None:
    error = _jsonl_error(
        write(content, ".jsonl"), "expected JSON lines (one object per line)", fragment
    )
    assert error.details["problem"] == "not_json_lines"


def test_jsonl_must_be_utf8(write: Writer) -> None:
    content = '{"id": 1}\n{"first_name": "Hervé"}\n'.encode("cp1252")
    _jsonl_error(write(content, ".jsonl"), "is not UTF-8", "line 2", "0xE9")


def test_jsonl_required_keys_on_first_valid_record(write: Writer) -> None:
    path = write(b'not json\n{"email": "a@x.fr", "phone": null}\n{"id": 2}\n', ".jsonl")
    error = _jsonl_error(
        path,
        "the first record (line 2) lacks required key(s) id",
        "it has: email, phone",
        required_keys=("id", "email"),
    )
    assert error.details["missing"] == ["id"]
    assert len(list(open_jsonl_export(path, required_keys=("email",)).rows())) == 3


def test_jsonl_without_any_object_is_refused(write: Writer) -> None:
    _jsonl_error(
        write(f"{HEADER}\n1;A;B\n", ".jsonl"), "none of the first 2 non-blank line(s)", "line 1"
    )


def test_jsonl_start_at_skips_rows_and_keeps_line_numbers(
    write: Writer,
) -> None:
    content = b'{"id": 1}\n\n{"id": 2}\nbad\n\n\n{"id": 3}\n[4]\n{"id": 5}\n'
    export = open_jsonl_export(write(content, ".jsonl"))
    full = list(export.rows())
    assert [row.line_number for row in full] == [1, 3, 4, 7, 8, 9]
    for start in range(8):
        assert list(export.rows(start_at=start)) == full[start:]


# --- scale -------------------------------------------------------------------


def _peak_memory_while_reading(open_export: Callable[[], ExportFile]) -> tuple[int, int]:
    """Open and stream an export under tracemalloc; return (rows, peak bytes)."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in open_export().rows())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, peak


def test_csv_memory_stays_bounded_on_a_large_file(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    # Few long rows: tracemalloc slows every allocation, and the point is bytes, not rows.
    rows = 100_000
    filler = "x" * 260
    with path.open("w", encoding="cp1252", newline="") as handle:
        handle.write(f"{HEADER};Note\r\n")
        handle.writelines(f"{i};Régis;Hervé;{filler}\r\n" for i in range(rows))
    assert path.stat().st_size > 25_000_000
    count, peak = _peak_memory_while_reading(
        lambda: open_csv_export(path, required_columns=REQUIRED)
    )
    assert count == rows
    assert peak < 8_000_000, f"peak {peak / 1e6:.1f} MB"


def test_jsonl_memory_stays_bounded_on_a_large_file(tmp_path: Path) -> None:
    path = tmp_path / "customers.jsonl"
    rows = 100_000
    record = {"email": "regis.herve@example.com", "note": "x" * 230, "tags": ["vip"]}
    with path.open("wb") as handle:
        handle.writelines(orjson.dumps({"id": i, **record}) + b"\n" for i in range(rows))
    assert path.stat().st_size > 25_000_000
    count, peak = _peak_memory_while_reading(lambda: open_jsonl_export(path, required_keys=("id",)))
    assert count == rows
    assert peak < 8_000_000, f"peak {peak / 1e6:.1f} MB"
