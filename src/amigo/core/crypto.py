"""Field encryption: AES-256-GCM per value, blind indexes for exact lookups, key rotation.

A stored value is ``v1.<key id>.<base64(nonce || ciphertext || tag)>``
(docs/encryption.md). The associated data binds it to its field (``table.column``)
and to its header, so a ciphertext copied into another column, or given another
key id, fails authentication instead of decrypting. Blind indexes are HMAC-SHA256
under their own key, derived per logical field (``email``, ``phone``), so that the
same address gives the same index in every table and rotating the encryption keys
leaves every index, and every join on one, unchanged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text, event
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from amigo.core.config import EncryptionSettings, get_settings
from amigo.core.errors import AmigoError
from amigo.core.keyfile import create_key_file, key_file_lock, replace_key_file

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the 96-bit nonce GCM is specified for
TAG_BYTES = 16
VERSION = "v1"
BINARY_VERSION = 1
INDEX_BYTES = 16  # 128 bits: no collision among billions of values, 22 characters stored
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")
_SEPARATORS = re.compile(r"[\s,]+")
_ENCRYPTION_INFO = b"amigo/v1/field-encryption"
_INDEX_INFO = b"amigo/v1/blind-index/"
_CHECK_INFO = b"amigo/v1/key-check"
_CHECK_FIELD = "amigo-key-check"  # no logical field of a blind index is named so
_KEY_FILE_HEADER = "# AMIgo field encryption keys, current first. Without them the data is lost.\n"


class CryptoError(AmigoError):
    """A stored value that cannot be decrypted: the data or the key ring needs attention."""

    code = "undecryptable_value"
    http_status = 500  # never the caller's fault


class UnknownKeyError(CryptoError):
    """A value encrypted under a key id the key ring does not hold."""

    code = "unknown_encryption_key"


class TamperedValueError(CryptoError):
    """A value whose authentication fails: altered, truncated, or moved from another field."""

    code = "tampered_value"


class MalformedValueError(CryptoError):
    """A stored value that is not in the encrypted format at all (plaintext, another version)."""

    code = "not_encrypted"


class KeyConfigurationError(AmigoError):
    """Encryption settings that cannot be used; the message never shows key material."""

    code = "bad_encryption_key"
    http_status = 500


def _hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(key)


def _b64encode(raw: bytes) -> str:
    # The standard alphabet, padded: binascii's C codec, with no translation
    # step, costs a third of base64.urlsafe_b64encode's time per value.
    return binascii.b2a_base64(raw, newline=False).decode("ascii")


def _b64decode_strict(text: str) -> bytes:
    return binascii.a2b_base64(text, strict_mode=True)


def _key_text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    # validate=True: a stray character is an error, not silently skipped.
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _decode_key(text: str, what: str) -> bytes:
    try:
        raw = _b64decode(text.strip().rstrip("="))
    except (binascii.Error, ValueError):
        raise KeyConfigurationError(f"{what} is not base64") from None
    if len(raw) != KEY_BYTES:
        raise KeyConfigurationError(
            f"{what} decodes to {len(raw)} bytes; a key is {KEY_BYTES} random bytes "
            "(e.g. `python -c 'import secrets,base64; "
            "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'`)"
        )
    return raw


def new_key() -> str:
    """Return a new random key, base64url encoded."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


@dataclass(frozen=True)
class KeyRing:
    """The encryption keys: the current one encrypts, every one decrypts."""

    current_id: str
    keys: Mapping[str, bytes] = field(repr=False)  # repr=False: keys never reach a log
    # Where the keys came from (a key file's path, or the variable): errors name it.
    source: str = field(default="AMIGO_ENCRYPTION_KEY", compare=False)

    def __post_init__(self) -> None:
        if self.current_id not in self.keys:
            raise KeyConfigurationError(f"the current key {self.current_id!r} is not in the ring")

    @classmethod
    def parse(cls, text: str, *, source: str = "AMIGO_ENCRYPTION_KEY") -> KeyRing:
        """Read ``id:base64`` entries (commas, spaces or lines apart, # comments); first is current."""
        lines = (line.split("#", 1)[0] for line in text.splitlines())
        entries = [e for e in _SEPARATORS.split(" ".join(lines)) if e]
        if not entries:
            raise KeyConfigurationError(f"{source} holds no key (expected id:base64key entries)")
        keys: dict[str, bytes] = {}
        for number, entry in enumerate(entries, start=1):
            key_id, colon, encoded = entry.partition(":")
            if not colon or not KEY_ID.fullmatch(key_id):
                raise KeyConfigurationError(
                    f"{source}: entry {number} is not id:base64key with an id of 1-16 letters, "
                    "digits, - or _"
                )
            if key_id in keys:
                raise KeyConfigurationError(f"{source}: key id {key_id!r} appears twice")
            keys[key_id] = _decode_key(encoded, f"{source}: key {key_id!r}")
        return cls(current_id=next(iter(keys)), keys=keys, source=source)

    def with_new_key(self, key_id: str | None = None) -> KeyRing:
        """Return this ring with a new random key in front, which becomes the current one."""
        if key_id is None:
            numbers = [int(k[1:]) for k in self.keys if re.fullmatch(r"k\d+", k)]
            key_id = f"k{max(numbers, default=0) + 1}"
        if not KEY_ID.fullmatch(key_id) or key_id in self.keys:
            raise KeyConfigurationError(f"key id {key_id!r} is malformed or already in the ring")
        return KeyRing(
            current_id=key_id,
            keys={key_id: secrets.token_bytes(KEY_BYTES), **self.keys},
            source=self.source,
        )

    def dump(self) -> str:
        """Return the ring as ``id:base64`` lines, current first: the key file's content."""
        return "".join(f"{key_id}:{_key_text(key)}\n" for key_id, key in self.keys.items())

    def check_values(self) -> dict[str, str]:
        """Return each key's check value: says which key it is, tells nothing of the key.

        A database records the check values of the keys it was written with
        (core/keycheck.py), so that another ring under the same ids is refused.
        """
        return {
            key_id: _b64encode(_hkdf(key, _CHECK_INFO)[:16]).rstrip("=")
            for key_id, key in self.keys.items()
        }


class FieldCipher:
    """Encrypt and decrypt field values with AES-256-GCM under a key ring."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        # The ring's keys are master keys: what AES uses is derived from them, so
        # that another use of the ring later (a key check value...) gets its own key.
        self._aeads = {k: AESGCM(_hkdf(key, _ENCRYPTION_INFO)) for k, key in ring.keys.items()}
        self._current = self._aeads[ring.current_id]
        self._prefix = f"{VERSION}.{ring.current_id}."
        self._binary_prefix = (
            bytes([BINARY_VERSION, len(ring.current_id)]) + ring.current_id.encode()
        )
        self._header = self._prefix.encode("ascii")

    @property
    def current_key_id(self) -> str:
        """Name the key new values are encrypted under."""
        return self.ring.current_id

    def encrypt(self, value: str, *, field: str) -> str:
        """Encrypt one value of a field (``table.column``) into its stored text form."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._current.encrypt(nonce, value.encode(), self._header + field.encode())
        return self._prefix + _b64encode(nonce + sealed)

    def decrypt(self, stored: str, *, field: str) -> str:
        """Decrypt a stored text value of a field, under whichever key of the ring it names."""
        version, _, rest = stored.partition(".")
        key_id, dot, body = rest.partition(".")
        if version != VERSION or not dot:
            raise MalformedValueError(f"a value of {field} is not an encrypted {VERSION} value")
        try:
            raw = _b64decode_strict(body)
        except (binascii.Error, ValueError):
            raise MalformedValueError(f"a value of {field} has a damaged body") from None
        header = f"{version}.{key_id}.".encode()
        return self._open(key_id, raw, header + field.encode(), field).decode()

    def encrypt_bytes(self, data: bytes, *, field: str) -> bytes:
        """Encrypt bytes into the binary form: version, key id length, key id, nonce, sealed."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._current.encrypt(nonce, data, self._header + field.encode())
        return self._binary_prefix + nonce + sealed

    def decrypt_bytes(self, stored: bytes, *, field: str) -> bytes:
        """Decrypt the binary form (the same associated data as the text form's)."""
        if len(stored) < 2 or stored[0] != BINARY_VERSION:
            raise MalformedValueError(f"a value of {field} is not an encrypted binary value")
        end = 2 + stored[1]
        key_id = stored[2:end].decode("ascii", errors="replace")
        header = f"{VERSION}.{key_id}.".encode()
        return self._open(key_id, stored[end:], header + field.encode(), field)

    def _open(self, key_id: str, raw: bytes, associated: bytes, field: str) -> bytes:
        aead = self._aeads.get(key_id)
        if aead is None:
            raise UnknownKeyError(
                f"a value of {field} is encrypted under key {key_id!r}, which the key ring "
                f"({self.ring.source}) does not hold; it holds {', '.join(self.ring.keys)}"
            )
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise TamperedValueError(f"a value of {field} is truncated")
        try:
            return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated)
        except InvalidTag:
            raise TamperedValueError(
                f"a value of {field} fails authentication under key {key_id!r} of "
                f"{self.ring.source}: altered, copied from another field, or written with "
                "another key file"
            ) from None

    @staticmethod
    def key_id_of(stored: str) -> str:
        """Name the key a stored text value is encrypted under."""
        version, _, rest = stored.partition(".")
        key_id, dot, _ = rest.partition(".")
        if version != VERSION or not dot:
            raise MalformedValueError(f"not an encrypted {VERSION} value")
        return key_id

    def is_current(self, stored: str) -> bool:
        """Say whether a stored value is already under the current key (rotation skips it)."""
        return stored.startswith(self._prefix)

    def reencrypt(self, stored: str, *, field: str) -> str:
        """Return the value under the current key: itself when it already is, else re-encrypted."""
        if self.is_current(stored):
            return stored
        return self.encrypt(self.decrypt(stored, field=field), field=field)

    @property
    def current_prefix(self) -> str:
        """Return how every value under the current key begins (rotation selects on it)."""
        return self._prefix

    @property
    def current_binary_prefix(self) -> bytes:
        """Return how every binary-form value under the current key begins."""
        return self._binary_prefix

    def reencrypt_bytes(self, stored: bytes, *, field: str) -> bytes:
        """Return a binary-form value under the current key (itself when it already is)."""
        if stored.startswith(self._binary_prefix):
            return stored
        return self.encrypt_bytes(self.decrypt_bytes(stored, field=field), field=field)


def normalize_for_index(value: str) -> str:
    """Return the form a blind index is computed over: NFC, trimmed, case-folded."""
    return unicodedata.normalize("NFC", value).strip().casefold()


class BlindIndex:
    """Keyed HMAC-SHA256 of normalized values, for exact lookups and joins on encrypted fields."""

    def __init__(
        self,
        root_key: bytes,
        *,
        length: int = INDEX_BYTES,
        normalize: Callable[[str], str] = normalize_for_index,
    ) -> None:
        if len(root_key) != KEY_BYTES:
            raise KeyConfigurationError(f"a blind index key is {KEY_BYTES} bytes")
        if not 8 <= length <= 32:
            raise ValueError("a blind index keeps between 8 and 32 bytes of the HMAC")
        self._root = root_key
        self._length = length
        self._normalize = normalize
        self._pads: dict[str, tuple[Any, Any]] = {}

    def _hmac_pads(self, field: str) -> tuple[Any, Any]:
        pads = self._pads.get(field)
        if pads is None:
            # One key per logical field: an email's index says nothing about a phone's.
            key = _hkdf(self._root, _INDEX_INFO + field.encode()).ljust(64, b"\0")
            # HMAC's inner and outer hashes with the padded key already absorbed
            # (RFC 2104): a copy of each per value, instead of hmac.digest setting
            # the key up again every time (0.9 us instead of 2.4 us per value).
            pads = self._pads[field] = (
                hashlib.sha256(bytes(b ^ 0x36 for b in key)),
                hashlib.sha256(bytes(b ^ 0x5C for b in key)),
            )
        return pads

    def digest(self, value: str, *, field: str) -> bytes:
        """Return the full HMAC-SHA256 of a normalized value under the field's key."""
        inner, outer = self._hmac_pads(field)
        inner = inner.copy()
        inner.update(self._normalize(value).encode())
        outer = outer.copy()
        outer.update(inner.digest())
        digest: bytes = outer.digest()
        return digest

    def compute(self, value: str, *, field: str) -> str:
        """Return the index of a value of a logical field (``email``, ``phone``), base64."""
        return _b64encode(self.digest(value, field=field)[: self._length]).rstrip("=")

    def compute_optional(self, value: str | None, *, field: str) -> str | None:
        """Return the index of a value, None for None or an empty value."""
        if value is None or not value.strip():
            return None
        return self.compute(value, field=field)

    def check_value(self) -> str:
        """Return the index key's check value (see KeyRing.check_values)."""
        return self.compute(_CHECK_FIELD, field=_CHECK_FIELD)


@dataclass(frozen=True)
class FieldCrypto:
    """The process's cipher and blind index, built from the settings."""

    cipher: FieldCipher
    index: BlindIndex
    # Where the ring came from in embedded mode, and that file's state when read:
    # a rotation by another process rewrites it, and this one then reloads it.
    key_file: Path | None = None
    key_file_stamp: int = 0

    def check_values(self) -> dict[tuple[str, str], str]:
        """Return the check values of every key, by (kind, key id): ``field`` keys, the ``index`` key."""
        checks = {
            ("field", key_id): value for key_id, value in self.cipher.ring.check_values().items()
        }
        checks["index", ""] = self.index.check_value()
        return checks

    @property
    def source(self) -> str:
        """Name where the keys came from, for messages."""
        return self.cipher.ring.source


def _read_key_file(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise KeyConfigurationError(f"cannot read the {what} file {path}: {error}") from None


def load_key_ring(settings: EncryptionSettings) -> KeyRing:
    """Return the configured key ring, else the key file's (created on first use)."""
    if settings.key is not None:
        return KeyRing.parse(settings.key.get_secret_value())
    path = Path(settings.key_file).absolute()
    create_key_file(path, _KEY_FILE_HEADER + KeyRing.parse(f"k1:{new_key()}").dump())
    return KeyRing.parse(_read_key_file(path, "encryption key"), source=str(path))


def load_index_key(settings: EncryptionSettings) -> bytes:
    """Return the configured blind index key, else the key file's (created on first use)."""
    if settings.index_key is not None:
        return _decode_key(settings.index_key.get_secret_value(), "AMIGO_ENCRYPTION_INDEX_KEY")
    path = Path(settings.index_key_file).absolute()
    create_key_file(path, new_key() + "\n")
    return _decode_key(_read_key_file(path, "blind index key"), str(path))


def missing_key_files(settings: EncryptionSettings) -> list[Path]:
    """Return the embedded mode's key files that do not exist (none when keys are in variables)."""
    if settings.key is not None:
        return []
    paths = (Path(settings.key_file).absolute(), Path(settings.index_key_file).absolute())
    return [path for path in paths if not path.exists()]


def crypto_from_settings(settings: EncryptionSettings) -> FieldCrypto:
    """Build the cipher and blind index from the settings; both keys or neither from files."""
    if (settings.key is None) != (settings.index_key is None):
        # One from the environment and one from a file in the working directory:
        # several processes would each make their own index key, and lookups
        # would quietly stop matching. Refuse instead.
        raise KeyConfigurationError(
            "set AMIGO_ENCRYPTION_KEY and AMIGO_ENCRYPTION_INDEX_KEY together (or neither, "
            "for the embedded mode's key files)"
        )
    ring = load_key_ring(settings)
    # Absolute: the file is looked at again later (reload_keys_if_changed), maybe from elsewhere.
    key_file = None if settings.key is not None else Path(settings.key_file).absolute()
    return FieldCrypto(
        cipher=FieldCipher(ring),
        index=BlindIndex(load_index_key(settings)),
        key_file=key_file,
        key_file_stamp=_stamp(key_file) if key_file is not None else 0,
    )


def _stamp(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


_configured: FieldCrypto | None = None
_lock = threading.Lock()


def current_crypto() -> FieldCrypto:
    """Return the process's cipher and blind index, built from the settings on first use."""
    global _configured  # noqa: PLW0603 - one key ring per process, read on first use
    crypto = _configured
    if crypto is None:
        with _lock:
            if _configured is None:
                _configured = crypto_from_settings(get_settings().encryption)
            crypto = _configured
    return crypto


def crypto_is_configured() -> bool:
    """Say whether the process's keys are already read (or installed), so no key file is made."""
    return _configured is not None


def configure_crypto(crypto: FieldCrypto | None) -> None:
    """Install the process's cipher and blind index (None: build from the settings again)."""
    global _configured  # noqa: PLW0603 - see current_crypto
    with _lock:
        _configured = crypto


def add_key(crypto: FieldCrypto) -> FieldCrypto:
    """Put a new current key first in the embedded mode's key file; return the crypto using it.

    Under a lock and from the file as it is now, so two rotations at once add
    two keys rather than one overwriting the other's (whose values would be lost).
    """
    path = crypto.key_file
    if path is None:
        raise KeyConfigurationError(
            "the keys come from AMIGO_ENCRYPTION_KEY: add the new id:base64 entry there, last "
            "then first, restarting every process each time, then run `amigo keys rotate "
            "--reencrypt-only` (docs/encryption.md)"
        )
    with key_file_lock(path):
        ring = KeyRing.parse(_read_key_file(path, "encryption key"), source=str(path))
        ring = ring.with_new_key()
        replace_key_file(path, _KEY_FILE_HEADER + ring.dump())
    rotated = replace(crypto, cipher=FieldCipher(ring), key_file_stamp=_stamp(path))
    configure_crypto(rotated)
    return rotated


def reload_keys_if_changed() -> bool:
    """Re-read the embedded mode's key file if another process rotated it; say if it did.

    Called when a value names a key the ring lacks: `amigo keys rotate` ran
    while this process (the API) kept serving.
    """
    crypto = current_crypto()
    if crypto.key_file is None:
        return False
    stamp = _stamp(crypto.key_file)
    if stamp == crypto.key_file_stamp:
        return False
    ring = KeyRing.parse(
        _read_key_file(crypto.key_file, "encryption key"), source=str(crypto.key_file)
    )
    with _lock:
        global _configured  # noqa: PLW0603 - see current_crypto
        _configured = replace(crypto, cipher=FieldCipher(ring), key_file_stamp=stamp)
    return ring.keys != crypto.cipher.ring.keys


def blind_index(value: str | None, *, field: str) -> str | None:
    """Return the blind index of a value of a logical field under the process's key, None if empty.

    The logical fields and what equality means for each: ``email`` (the email
    match key), ``phone`` (E.164), ``birth_date`` (ISO date).
    """
    return current_crypto().index.compute_optional(value, field=field)


def maintain_blind_indexes(model: type, indexes: Mapping[str, tuple[str, str]]) -> None:
    """Keep a model's blind index columns derived from its values whenever the ORM writes it.

    ``indexes``: index column -> (value column, logical field). Bulk writes
    through Core compute their indexes themselves; this covers every object
    the ORM inserts or updates, so an index can never go stale beside its value.
    """

    def fill(_mapper: Any, _connection: Any, target: Any) -> None:
        for index_column, (value_column, field_name) in indexes.items():
            value = getattr(target, value_column)
            text = value.isoformat() if isinstance(value, date) else value
            setattr(target, index_column, blind_index(text, field=field_name))

    event.listen(model, "before_insert", fill)
    event.listen(model, "before_update", fill)


@contextmanager
def using_crypto(crypto: FieldCrypto) -> Iterator[FieldCrypto]:
    """Install a cipher and blind index for a block, then put the previous ones back."""
    previous = _configured
    configure_crypto(crypto)
    try:
        yield crypto
    finally:
        configure_crypto(previous)


T = TypeVar("T")

# Comparisons of ciphertexts mean nothing (each encryption draws a new nonce):
# the column answers them with an error naming the blind index, not with no rows.
_REFUSED_OPERATORS = frozenset(
    {
        operators.eq,
        operators.ne,
        operators.lt,
        operators.le,
        operators.gt,
        operators.ge,
        operators.in_op,
        operators.not_in_op,
        operators.like_op,
        operators.not_like_op,
        operators.ilike_op,
        operators.not_ilike_op,
        operators.between_op,
        operators.not_between_op,
        operators.contains_op,
        operators.startswith_op,
        operators.endswith_op,
    }
)


class RefusingComparator(TypeDecorator.Comparator[Any]):
    """Refuse comparisons of encrypted values, which could only ever match nothing."""

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        """Let IS NULL and ordering-free operators through, refuse comparisons."""
        if op in _REFUSED_OPERATORS and not (
            op in (operators.eq, operators.ne) and other and other[0] is None
        ):
            raise TypeError(
                f"{self.expr} is encrypted: compare its blind index column instead "
                "(docs/encryption.md)"
            )
        return super().operate(op, *other, **kwargs)

    def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
        """Refuse comparisons written the other way round too."""
        if op in _REFUSED_OPERATORS and other is not None:
            raise TypeError(f"{self.expr} is encrypted: compare its blind index column instead")
        return super().reverse_operate(op, other, **kwargs)


def decrypting(open_value: Callable[[FieldCipher], T]) -> T:
    """Decrypt with the process's cipher; once more after re-reading a rotated key file."""
    try:
        return open_value(current_crypto().cipher)
    except UnknownKeyError:
        if not reload_keys_if_changed():
            raise
        return open_value(current_crypto().cipher)


class EncryptedType(TypeDecorator[T]):
    """A column stored encrypted under the process's cipher, bound to its field name."""

    impl = Text
    cache_ok = True
    comparator_factory = RefusingComparator

    def __init__(self, field: str) -> None:
        super().__init__()
        self.field = field

    def _to_text(self, value: T) -> str:
        raise NotImplementedError

    def _from_text(self, text: str) -> T:
        raise NotImplementedError

    def process_bind_param(self, value: T | None, dialect: Dialect) -> str | None:
        """Encrypt the value on its way to the database."""
        if value is None:
            return None
        return current_crypto().cipher.encrypt(self._to_text(value), field=self.field)

    def process_result_value(self, value: Any, dialect: Dialect) -> T | None:
        """Decrypt what the database returns."""
        if value is None:
            return None
        text = decrypting(lambda cipher: cipher.decrypt(value, field=self.field))
        return self._from_text(text)


class EncryptedText(EncryptedType[str]):
    """Text stored encrypted: ``mapped_column(EncryptedText("golden_customer.email"))``."""

    cache_ok = True

    def _to_text(self, value: str) -> str:
        return value

    def _from_text(self, text: str) -> str:
        return text


class EncryptedDate(EncryptedType[date]):
    """A date stored encrypted as its ISO text (a birth date)."""

    cache_ok = True

    def _to_text(self, value: date) -> str:
        return value.isoformat()

    def _from_text(self, text: str) -> date:
        return date.fromisoformat(text)


__all__ = [
    "BlindIndex",
    "CryptoError",
    "EncryptedDate",
    "EncryptedText",
    "EncryptedType",
    "FieldCipher",
    "FieldCrypto",
    "KeyConfigurationError",
    "KeyRing",
    "MalformedValueError",
    "RefusingComparator",
    "TamperedValueError",
    "UnknownKeyError",
    "add_key",
    "blind_index",
    "configure_crypto",
    "crypto_from_settings",
    "crypto_is_configured",
    "current_crypto",
    "decrypting",
    "load_index_key",
    "load_key_ring",
    "maintain_blind_indexes",
    "missing_key_files",
    "new_key",
    "normalize_for_index",
    "reload_keys_if_changed",
    "using_crypto",
]
