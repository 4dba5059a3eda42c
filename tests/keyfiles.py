"""The test process's key files, for a CLI subprocess working on a database the test wrote."""

from __future__ import annotations

from pathlib import Path

from amigo.core.config import get_settings
from amigo.core.crypto import current_crypto


def this_process_key_files() -> dict[str, str]:
    """Return the environment that points a subprocess at this process's key files.

    A database records the keys it was written with and refuses others
    (core/keycheck.py): a subprocess run in a directory of its own would
    otherwise look for its key files there.
    """
    crypto = current_crypto()
    if crypto.key_file is None:  # keys in AMIGO_ENCRYPTION_KEY*: inherited with the environment
        return {}
    return {
        "AMIGO_ENCRYPTION_KEY_FILE": str(crypto.key_file),
        "AMIGO_ENCRYPTION_INDEX_KEY_FILE": str(
            Path(get_settings().encryption.index_key_file).absolute()
        ),
    }
