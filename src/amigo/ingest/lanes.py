"""Load the lanes of one phase side by side, one process each.

Within a phase the files of different sources do not depend on each other
(Shopify orders need no Cegid receipt), so each source's files load in their
own process while the phase order between phases stays as it is. Progress
comes back through a queue; a worker dies with its parent, so a killed load
leaves nothing writing behind it.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import queue
import signal
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

    from amigo.ingest.service import FilePart, FileStats, LaneJob, LoadProgress

_progress_queue: Queue[tuple[str, Any, Any]] | None = None
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _init_worker(progress_queue: Queue[tuple[str, Any, Any]]) -> None:
    global _progress_queue  # noqa: PLW0603 - one queue per worker process, set once
    _progress_queue = progress_queue
    # Die with the parent (Linux): a SIGKILLed load must not leave writers behind.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class _QueueProgress:
    """Forward progress to the parent process."""

    def file_started(self, file: str, total_rows: int | None) -> None:
        _put(("started", file, total_rows))

    def rows_done(self, file: str, count: int) -> None:
        _put(("rows", file, count))

    def file_finished(self, stats: FileStats) -> None:
        _put(("finished", stats, None))


def _put(message: tuple[str, Any, Any]) -> None:
    if _progress_queue is not None:
        _progress_queue.put(message)


def _run_lane(job: LaneJob, parts: list[FilePart]) -> tuple[list[FileStats], int, int]:
    from amigo.ingest.service import load_lane  # noqa: PLC0415 - worker-side import

    return load_lane(job, parts, _QueueProgress())


def _relay(progress_queue: Queue[tuple[str, Any, Any]], progress: LoadProgress) -> None:
    while True:
        try:
            kind, first, second = progress_queue.get_nowait()
        except queue.Empty:
            return
        if kind == "started":
            progress.file_started(first, second)
        elif kind == "rows":
            progress.rows_done(first, second)
        else:
            progress.file_finished(first)


def run_lanes_in_parallel(
    job: LaneJob,
    lanes: list[list[FilePart]],
    workers: int,
    progress: LoadProgress,
) -> list[tuple[list[FileStats], int, int]]:
    """Load each lane in a worker process; return each lane's stats and counts, in lane order."""
    # spawn, not fork: a forked child would share the parent's database
    # connections, and closing them there would break the parent's.
    context = multiprocessing.get_context("spawn")
    progress_queue: Queue[tuple[str, Any, Any]] = context.Queue()
    with ProcessPoolExecutor(
        max_workers=min(workers, len(lanes)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(progress_queue,),
    ) as pool:
        # Largest lane first: with fewer workers than lanes, the long one must not wait.
        by_size = sorted(range(len(lanes)), key=lambda i: -sum(p.expected_rows for p in lanes[i]))
        submitted = {i: pool.submit(_run_lane, job, lanes[i]) for i in by_size}
        futures: list[Future[tuple[list[FileStats], int, int]]] = [
            submitted[i] for i in range(len(lanes))
        ]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            _relay(progress_queue, progress)
        results = [future.result() for future in futures]
    _relay(progress_queue, progress)
    progress_queue.close()
    return results
