"""Sealed documents: a whole JSON document stored as one encrypted binary value.

For the payload columns of docs/encryption.md (raw messages and records that
carry direct identifiers somewhere inside): the document is serialized with
sorted keys, then encrypted in the binary form of ``FieldCipher.encrypt_bytes``
(version, key id, nonce, AES-256-GCM ciphertext and tag), bound to its field.
Nothing inside can be queried in SQL; the columns a table is queried by stay
beside it. ``amigo keys rotate`` re-encrypts these columns too (core/rotation.py).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from amigo.core.crypto import RefusingComparator, current_crypto, decrypting
from amigo.core.sql import JsonText

_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def seal_json(document: Any, *, field: str) -> bytes:
    """Return a JSON document (or its serialized text or bytes) sealed under the current key."""
    if isinstance(document, bytes):
        data = document
    elif type(document) is JsonText:  # already serialized; a plain str is a JSON string
        data = document.encode()
    else:
        data = orjson.dumps(document, option=_JSON_OPTIONS)
    return current_crypto().cipher.encrypt_bytes(data, field=field)


def open_json(stored: bytes, *, field: str) -> Any:
    """Return the JSON document of a sealed value, under whichever key of the ring it names."""
    return orjson.loads(decrypting(lambda cipher: cipher.decrypt_bytes(stored, field=field)))


class SealedJSON(TypeDecorator[Any]):
    """A JSON document stored sealed: ``mapped_column("payload_sealed", SealedJSON("t.payload"))``.

    Binds any JSON value (serialized here; a ``str`` is a JSON string), or
    JSON already serialized as ``core.sql.JsonText`` or ``bytes`` (stored as
    given: the text a hash was taken of). Reads
    give the parsed document. Comparisons are refused, as for EncryptedText.
    """

    impl = LargeBinary
    cache_ok = True
    comparator_factory = RefusingComparator

    def __init__(self, field: str) -> None:
        super().__init__()
        self.field = field

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        """Seal the document on its way to the database."""
        if value is None:
            return None
        return seal_json(value, field=self.field)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """Open what the database returns."""
        if value is None:
            return None
        return open_json(bytes(value), field=self.field)


__all__ = ["SealedJSON", "open_json", "seal_json"]
