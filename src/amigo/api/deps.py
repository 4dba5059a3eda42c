"""The composition root: what every route is handed (engine, settings, session, caller)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from amigo.api.oauth import Caller
from amigo.api.security import current_caller
from amigo.core.audit import Reader
from amigo.core.config import Settings
from amigo.core.db import unit_of_work


def get_engine(request: Request) -> Engine:
    """Return the app's engine (routes open their own unit of work on it)."""
    engine: Engine = request.app.state.engine
    return engine


def get_app_settings(request: Request) -> Settings:
    """Return the settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """Open the request's unit of work: committed when the route returns, rolled back on error."""
    with unit_of_work(request.app.state.engine) as session:
        yield session


def get_reader(
    caller: Annotated[Caller, Depends(current_caller)],
    purpose: Annotated[
        str | None,
        Header(
            alias="X-Purpose",
            max_length=100,
            description="Why personal data is read (recorded in the audit log); "
            "default: the route's own purpose.",
        ),
    ] = None,
) -> Reader:
    """Return who reads personal data on this request and why, for the audit log."""
    return Reader(
        actor=caller.client_id, role=caller.role.value, purpose=(purpose or "").strip() or "api"
    )


def for_purpose(reader: Reader, default: str) -> Reader:
    """Return the reader with the route's own purpose when the caller named none."""
    return reader if reader.purpose != "api" else Reader(reader.actor, reader.role, default)


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
# scope="function": committed when the route returns, before the response is sent. With the
# default ("request") the commit ran after the response went out: a client could read its own
# write stale, and a failed commit would follow a 2xx already sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
CallerDep = Annotated[Caller, Depends(current_caller)]
ReaderDep = Annotated[Reader, Depends(get_reader)]
