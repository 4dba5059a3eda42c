"""`create_app`: the FastAPI application `amigo serve` runs."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from amigo import __version__
from amigo.api.errors import install_error_handlers
from amigo.api.metrics import install_metrics
from amigo.api.ratelimit import make_rate_limiter
from amigo.api.routes import mount_routers
from amigo.api.security import RevocationCache
from amigo.core.config import Settings, get_settings
from amigo.core.db import make_engine
from amigo.core.errors import InvalidInputError
from amigo.core.keyfile import LazySecret
from amigo.workers.runner import start_workers, stop_workers

_MIN_KEY_LENGTH = 32  # bytes of an HS256 key
_TOKEN = re.compile(r"(token=)[^&\s]+")


class RedactLinkTokens(logging.Filter):
    """Keep signed link tokens out of the access log: each is a key to someone's consent."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace every ``token=...`` in the logged request line; always keep the record."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def _redact_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactLinkTokens) for f in access.filters):
        access.addFilter(RedactLinkTokens())


@asynccontextmanager
async def _background_workers(app: FastAPI) -> AsyncIterator[None]:
    """Run the process's background workers (the Shopify webhook processor) while it serves."""
    stop = threading.Event()
    threads = start_workers(app.state.engine, app.state.settings, stop)
    try:
        yield
    finally:
        stop_workers(threads, stop)


def create_app(
    *,
    engine: Engine | None = None,
    settings: Settings | None = None,
    background_workers: bool = False,
) -> FastAPI:
    """Build the app on an engine (by default the configured database).

    ``background_workers``: also run the workers of ``amigo.workers.runner``
    while the app is served (``amigo serve`` does).
    """
    settings = settings or get_settings()
    app = FastAPI(
        title="AMIgo",
        version=__version__,
        openapi_url="/openapi.json",
        description="Customer data platform: golden profiles, consent, privacy, events.",
        lifespan=_background_workers if background_workers else None,
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database.url)
    configured = settings.api.token_key
    if configured is not None and len(configured.get_secret_value()) < _MIN_KEY_LENGTH:
        raise InvalidInputError(
            f"AMIGO_API_TOKEN_KEY must be at least {_MIN_KEY_LENGTH} characters (RFC 7518, 3.2)",
            code="weak_token_key",
        )
    app.state.token_key = LazySecret(settings.api.token_key, settings.api.token_key_file)
    app.state.rate_limiter = make_rate_limiter(
        redis_url=settings.redis_url,
        rate=settings.api.rate_per_second,
        burst=settings.api.rate_burst,
    )
    app.state.revocations = RevocationCache()
    install_error_handlers(app)
    install_metrics(app)
    mount_routers(app)
    _redact_access_log()

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        """Say the process is up."""
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"], responses={503: {"description": "Not ready"}})
    def ready() -> JSONResponse:
        """Say whether the process can serve: its database answers."""
        try:
            with app.state.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            return JSONResponse(
                {"status": "unavailable", "database": type(error).__name__}, status_code=503
            )
        return JSONResponse({"status": "ready", "database": "ok"})

    return app


def create_default_app() -> FastAPI:
    """Build the app from the environment, with its background workers (`amigo serve`)."""
    return create_app(background_workers=True)
