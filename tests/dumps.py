"""Every byte a test database holds, for the encryption-at-rest proofs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import Engine


def raw_dump(engine: Engine) -> bytes:
    """Return the SQLite files (with their WAL and shared memory), or pg_dump's output.

    The engine is disposed first on SQLite, so that the WAL holds what was committed.
    """
    url = engine.url
    if url.get_backend_name() == "sqlite":
        engine.dispose()
        database = Path(str(url.database))
        files = sorted(database.parent.glob(database.name + "*"))  # the -wal and -shm too
        assert files, f"no database file at {database}"
        return b"".join(path.read_bytes() for path in files)
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(
        ["pg_dump", "--no-owner", "--dbname", libpq], check=True, capture_output=True, timeout=120
    ).stdout
