"""`amigo keys status|rotate`: the field encryption keys and their rotation (docs/encryption.md)."""

from __future__ import annotations

import typer
from rich.progress import TaskID

import amigo.models  # noqa: F401 - every table registered on the metadata
from amigo.cli.common import (
    console,
    counted_progress,
    get_engine,
    require_current_schema,
    user_errors,
)
from amigo.core.crypto import current_crypto
from amigo.core.db import Base
from amigo.core.rotation import RotationStats, count_stale, encrypted_tables, rotate_keys

app = typer.Typer(
    help="Field encryption keys: which are in use, and their rotation while the API serves.",
    no_args_is_help=True,
)


@app.command("status")
@user_errors
def status_command() -> None:
    """Show the key ring (ids, never keys) and the values each table holds under older keys."""
    crypto = current_crypto()
    ring = crypto.cipher.ring
    source = str(crypto.key_file) if crypto.key_file else "AMIGO_ENCRYPTION_KEY"
    console.print(
        f"current key {ring.current_id}; ring {', '.join(ring.keys)} (from {source})",
        highlight=False,
    )
    engine = get_engine()
    require_current_schema(engine)
    for table in encrypted_tables(Base.metadata):
        console.print(f"{table.name}: {count_stale(engine, table):,} values under older keys")


@app.command("rotate")
@user_errors
def rotate_command(
    new_key: bool = typer.Option(
        True,
        "--new-key/--reencrypt-only",
        help="Embedded mode: add a new current key to the key file first. With "
        "AMIGO_ENCRYPTION_KEY, put the new key first there, restart, and use --reencrypt-only.",
    ),
    batch_size: int = typer.Option(
        1000, min=1, max=100_000, help="Rows per transaction while re-encrypting."
    ),
) -> None:
    """Re-encrypt every encrypted value under a new key while the API keeps serving."""
    engine = get_engine()
    require_current_schema(engine)  # before a key is added: a failed rotation leaves the ring
    with counted_progress() as progress:
        tasks: dict[str, TaskID] = {}

        def advance(stats: RotationStats) -> None:
            if stats.table not in tasks:
                tasks[stats.table] = progress.add_task(stats.table, total=None)
            progress.update(tasks[stats.table], completed=stats.rows)

        report = rotate_keys(
            engine=engine,
            metadata=Base.metadata,
            new_key=new_key,
            batch_size=batch_size,
            on_batch=advance,
        )
    added = "new key" if report.added else "key"
    values = sum(stats.values for stats in report.tables)
    console.print(
        f"{added} {report.key_id} current; {values:,} values re-encrypted in "
        f"{len(report.tables)} tables",
        highlight=False,
    )
    if report.remaining:
        console.print(
            f"{report.remaining:,} values are still under older keys (written meanwhile by a "
            "process not yet restarted): run `amigo keys rotate --reencrypt-only` again"
        )
    else:
        console.print("every value is under the current key: older keys may leave the ring")
