"""Secrets of the embedded mode: a random key kept in a file, created once, readable by its owner."""

from __future__ import annotations

import fcntl
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import SecretStr


def secret_from(setting: SecretStr | None, path: Path) -> str:
    """Return the configured secret, else the key file's (written mode 0600 on first use)."""
    if setting is not None:
        return setting.get_secret_value()
    if not path.exists():
        # O_EXCL: two processes starting together cannot both write a different key.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(32))
    return path.read_text(encoding="ascii").strip()


def create_key_file(path: Path, text: str) -> bool:
    """Write a new key file readable by its owner only; return False if one already exists.

    The text goes to a temporary file first and is linked into place: a process
    that starts at the same time sees either no file or the whole key, never an
    empty one, and two processes cannot both install a different key.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)  # mkstemp creates 0600 already: say it, whatever the umask
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(temporary)


def replace_key_file(path: Path, text: str) -> None:
    """Replace a key file's content at once (a reader sees the old or the new, never half), 0600."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


@contextmanager
def key_file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside a key file: two rotations cannot each add a key."""
    lock_path = path.with_name(f".{path.name}.lock")
    descriptor = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


class LazySecret:
    """A secret read (or its key file created) on first use, not when the app is built."""

    def __init__(self, setting: SecretStr | None, path: Path) -> None:
        self._setting = setting
        self._path = path
        self._value: str | None = None

    @property
    def value(self) -> str:
        """Return the secret, reading or creating it the first time."""
        if self._value is None:
            self._value = secret_from(self._setting, self._path)
        return self._value


__all__ = ["LazySecret", "create_key_file", "key_file_lock", "replace_key_file", "secret_from"]
