"""`create_app`: the FastAPI application `amigo serve` runs."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI
from sqlalchemy import Engine

from amigo import __version__
from amigo.api.routers import tracking
from amigo.core.config import Settings, get_settings
from amigo.core.db import make_engine
from amigo.web.views import router as public_pages

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


def create_app(*, engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    """Build the app on an engine (by default the configured database)."""
    settings = settings or get_settings()
    app = FastAPI(title="AMIgo", version=__version__, openapi_url="/openapi.json")
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database.url)
    app.include_router(public_pages)
    app.include_router(tracking.router)
    _redact_access_log()

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        """Say the process is up."""
        return {"status": "ok"}

    return app


def create_default_app() -> FastAPI:
    """Build the app from the environment (Uvicorn's factory entry point)."""
    return create_app()
