"""One-dimensional PostgreSQL arrays packed in the binary wire format, for the bulk statements.

psycopg packs a list parameter element by element in Python: for each one it
calls the element's dumper, packs its length and appends both, after walking
the list twice to choose the dumpers (``get_key``, ``upgrade``). A tracking
batch sends some 3,000 elements; that was about a fifth of its CPU. The
formats here are PostgreSQL's own (``array_recv``: a header, then each element
as its length and its bytes, -1 for NULL) and simple for the few element types
the bulk statements use, so the packing is written out by hand, each element
in one ``struct`` call or one encode.

A packed array travels with type oid 0 ("unspecified"): the statement's cast
(``$1::text[]``) gives PostgreSQL its type, and the element oid in the header
must then be that type's element. Values of any other type (float, json) are
left to psycopg: ``pack`` returns None for them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain, repeat
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import Dumper

_HEAD = struct.Struct(">iIIii")  # dimensions, has nulls, element oid, length, lower bound
_LENGTH = struct.Struct(">i").pack
_NULL = b"\xff\xff\xff\xff"
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class PackedArray(bytes):
    """An array already in PostgreSQL's binary format: sent as is, its type given by a cast."""

    __slots__ = ()


class _PackedArrayDumper(Dumper):
    format = pq.Format.BINARY
    oid = 0  # unspecified: the statement's cast names the array type

    def dump(self, obj: Any) -> bytes:
        return bytes(obj)


# Registered once, on the global adapters every new connection starts from.
psycopg.adapters.register_dumper(PackedArray, _PackedArrayDumper)


def _fixed(oid: int, code: str) -> Callable[[Sequence[Any]], PackedArray]:
    """Return the packer of a fixed-size element type (its length the same in every element)."""
    size = struct.calcsize(">" + code)
    element = struct.Struct(f">i{code}").pack

    def pack(values: Sequence[Any]) -> PackedArray:
        if None in values:
            body = b"".join(_NULL if v is None else element(size, v) for v in values)
            return PackedArray(_HEAD.pack(1, 1, oid, len(values), 1) + body)
        body = b"".join(map(element, repeat(size, len(values)), values))
        return PackedArray(_HEAD.pack(1, 0, oid, len(values), 1) + body)

    return pack


def _variable(oid: int, encode: Callable[[Any], bytes]) -> Callable[[Sequence[Any]], PackedArray]:
    """Return the packer of a variable-length element type, given each element's bytes.

    ``encode`` is best a method of the element's type (``str.encode``): mapped in C.
    """

    def pack(values: Sequence[Any]) -> PackedArray:
        if None in values:
            body = b"".join(
                [_NULL if v is None else _LENGTH(len(e := encode(v))) + e for v in values]
            )
            return PackedArray(_HEAD.pack(1, 1, oid, len(values), 1) + body)
        data = list(map(encode, values))
        lengths = map(_LENGTH, map(len, data))
        body = b"".join(chain.from_iterable(zip(lengths, data, strict=True)))
        return PackedArray(_HEAD.pack(1, 0, oid, len(values), 1) + body)

    return pack


def _bytea(value: Any) -> bytes:
    # bytes(an int) would be that many zero bytes: a buffer or nothing.
    return value if type(value) is bytes else bytes(memoryview(value))


def _jsonb(value: str) -> bytes:
    return b"\x01" + value.encode()  # jsonb_recv: format version 1, then the JSON text


def _microseconds(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: timestamps must carry a time zone")
    return (value - _PG_EPOCH) // _MICROSECOND


_pack_int8 = _fixed(20, "q")
_pack_timestamp = _fixed(1184, "q")


_pack_bool = _fixed(16, "?")


def _booleans(values: Sequence[Any]) -> PackedArray:
    if any(v is not None and type(v) is not bool for v in values):
        raise TypeError("not a bool")  # struct's "?" would take any object's truth
    return _pack_bool(values)


def _timestamptz(values: Sequence[Any]) -> PackedArray:
    return _pack_timestamp([None if v is None else _microseconds(v) for v in values])


# The SQL array types of core.sql's statements, and how their elements are packed.
_PACKERS: dict[str, Callable[[Sequence[Any]], PackedArray]] = {
    "text[]": _variable(25, str.encode),
    "TEXT[]": _variable(25, str.encode),
    "BYTEA[]": _variable(17, _bytea),
    "JSONB[]": _variable(3802, _jsonb),
    "BIGINT[]": _pack_int8,
    "INTEGER[]": _fixed(23, "i"),
    "SMALLINT[]": _fixed(21, "h"),
    "BOOLEAN[]": _booleans,
    "TIMESTAMP WITH TIME ZONE[]": _timestamptz,
}


_ELEMENT_OIDS = {
    "text[]": 25,
    "TEXT[]": 25,
    "BYTEA[]": 17,
    "JSONB[]": 3802,
    "BIGINT[]": 20,
    "INTEGER[]": 23,
    "SMALLINT[]": 21,
    "BOOLEAN[]": 16,
    "TIMESTAMP WITH TIME ZONE[]": 1184,
}


def pack(array_type: str, values: Sequence[Any]) -> PackedArray | None:
    """Return the values as a binary array of this SQL type, None if psycopg must pack them.

    None too when a value is not of the element's Python type (an int for a
    text column, say): psycopg then sends what it always did.
    """
    packer = _PACKERS.get(array_type)
    if packer is None:
        return None
    if not values:  # no dimension at all: PostgreSQL's empty array
        return PackedArray(struct.pack(">iIi", 0, 0, _ELEMENT_OIDS[array_type]))
    try:
        return packer(values)
    except (AttributeError, TypeError, struct.error):
        return None


__all__ = ["PackedArray", "pack"]
