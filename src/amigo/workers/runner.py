"""Start and stop the background workers of an API process.

`amigo serve` runs them in each of its processes, as threads beside the
requests: today the Shopify webhook processor (when webhooks are configured
and ``AMIGO_SHOPIFY_PROCESS_IN_SERVE`` is on). Each worker takes its own
deliveries (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on
SQLite), so several processes share one inbox.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from amigo.connectors.shopify.processing import run_processor
from amigo.core.config import Settings

log = logging.getLogger(__name__)


def _shopify_processor(engine: Engine, settings: Settings, stop: threading.Event) -> None:
    try:
        run_processor(engine, settings=settings, stop=stop)
    except Exception:  # a worker's death is logged, never the process's
        log.exception("the Shopify webhook processor stopped")


def start_workers(
    engine: Engine, settings: Settings, stop: threading.Event
) -> list[threading.Thread]:
    """Start the configured workers as daemon threads; they end when ``stop`` is set."""
    threads = []
    shopify = settings.shopify
    if shopify.process_in_serve and shopify.api_secret is not None:
        threads.append(
            threading.Thread(
                target=_shopify_processor,
                args=(engine, settings, stop),
                name="shopify-webhooks",
                daemon=True,
            )
        )
    for thread in threads:
        thread.start()
    return threads


def stop_workers(threads: list[threading.Thread], stop: threading.Event) -> None:
    """Ask the workers to finish what they hold and wait for them (a few seconds at most)."""
    stop.set()
    for thread in threads:
        thread.join(timeout=10)


__all__ = ["start_workers", "stop_workers"]
