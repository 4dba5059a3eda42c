"""The public consent pages: plain HTML forms (no JavaScript), in French and English.

Each view verifies nothing itself: it hands the signed token to the consent
service inside one unit of work and renders what comes back. A page reached
by GET never changes anything (mail scanners open links); the button posts.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from amigo.api.deps import EngineDep, SettingsDep
from amigo.consent.links import ExpiredLinkError, InvalidLinkError, LinkAction
from amigo.consent.preferences import (
    Outcome,
    PagePerson,
    Visitor,
    confirm_subscription,
    confirmation_view,
    page_link,
    preferences_view,
    save_preferences,
    unsubscribe,
    unsubscribe_view,
)
from amigo.core.clock import utcnow
from amigo.core.config import Settings
from amigo.core.db import unit_of_work
from amigo.core.errors import AmigoError
from amigo.web.i18n import choose_language, text

router = APIRouter(prefix="/consent", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

FormText = Annotated[str | None, Form()]


def _page(
    request: Request, template: str, language: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    other = "en" if language == "fr" else "fr"
    return templates.TemplateResponse(
        request,
        template,
        {
            "lang": language,
            "t": partial(text, language),
            "other_language_url": str(request.url.include_query_params(lang=other))
            if request.method == "GET"
            else None,
            **context,
        },
        status_code=status_code,
    )


def _error_page(request: Request, error: AmigoError, asked: str | None) -> HTMLResponse:
    language = choose_language(asked, None, request.headers.get("accept-language"))
    if isinstance(error, ExpiredLinkError):
        title, key, status = "error.expired_title", "error.expired_link", 410
    elif isinstance(error, InvalidLinkError):
        title, key, status = "error.title", "error.invalid_link", 400
    else:
        title, key, status = "error.title", "error.bad_request", 400
    return _page(
        request,
        "error.html",
        language,
        status,
        title=text(language, title),
        message=text(language, key),
    )


def _visitor(request: Request) -> Visitor:
    return Visitor(
        ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or "")[:300] or None,
    )


def _language(request: Request, asked: str | None, person: PagePerson) -> str:
    return choose_language(asked, person.language, request.headers.get("accept-language"))


def _greeting(language: str, person: PagePerson) -> str:
    if person.first_name:
        return text(language, "hello", name=person.first_name)
    return text(language, "hello.anonymous")


# ---------------------------------------------------------------- unsubscribe


@router.get("/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    token: str = "",
    lang: str | None = None,
) -> HTMLResponse:
    """Ask to confirm the unsubscription a signed link names."""
    try:
        with unit_of_work(engine) as session:
            person, current = unsubscribe_view(
                session=session, token=token, settings=settings.consent, now=utcnow()
            )
    except AmigoError as error:
        return _error_page(request, error, lang)
    language = _language(request, lang, person)
    purpose = text(language, f"purpose.{current.purpose}")
    already = current.status == "withdrawn"
    return _page(
        request,
        "action.html",
        language,
        title=text(language, "unsubscribe.title"),
        greeting=_greeting(language, person),
        notice=text(language, "unsubscribe.already", purpose=purpose) if already else None,
        question=None if already else text(language, "unsubscribe.ask", purpose=purpose),
        button=text(language, "unsubscribe.button"),
        action="/consent/unsubscribe",
        token=token,
    )


@router.post("/unsubscribe", response_class=HTMLResponse)
def unsubscribe_action(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    token: FormText = None,
    lang: FormText = None,
) -> HTMLResponse:
    """Withdraw the purpose; also the RFC 8058 one-click POST of mail clients (token in the URL)."""
    token = token or request.query_params.get("token", "")
    lang = lang or request.query_params.get("lang")
    try:
        with unit_of_work(engine) as session:
            outcome = unsubscribe(
                session=session,
                token=token,
                settings=settings.consent,
                now=utcnow(),
                visitor=_visitor(request),
            )
            preferences = _preferences_link(session, outcome, settings)
    except AmigoError as error:
        return _error_page(request, error, lang)
    language = _language(request, lang, outcome.person)
    purpose = text(language, f"purpose.{outcome.purpose}")
    return _page(
        request,
        "action.html",
        language,
        title=text(language, "unsubscribe.title"),
        greeting=_greeting(language, outcome.person),
        notice=text(
            language,
            "unsubscribe.already" if outcome.already else "unsubscribe.done",
            purpose=purpose,
        ),
        preferences_url=preferences,
    )


def _preferences_link(session: Session, outcome: Outcome, settings: Settings) -> str:
    return page_link(
        session=session,
        customer_id=outcome.person.customer_id,
        action=LinkAction.PREFERENCES,
        settings=settings.consent,
        base_url="",
    )


# ---------------------------------------------------------------- preference center


@router.get("/preferences", response_class=HTMLResponse)
def preferences_page(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    token: str = "",
    lang: str | None = None,
) -> HTMLResponse:
    """Show a tick box per purpose, ticked where the person consents now."""
    try:
        with unit_of_work(engine) as session:
            person, consents = preferences_view(
                session=session, token=token, settings=settings.consent, now=utcnow()
            )
    except AmigoError as error:
        return _error_page(request, error, lang)
    language = _language(request, lang, person)
    return _page(
        request,
        "preferences.html",
        language,
        title=text(language, "preferences.title"),
        greeting=_greeting(language, person),
        consents=list(consents.values()),
        token=token,
    )


@router.post("/preferences", response_class=HTMLResponse)
def preferences_action(
    request: Request,
    *,
    engine: EngineDep,
    settings: SettingsDep,
    token: FormText = None,
    lang: FormText = None,
    purpose: Annotated[list[str] | None, Form()] = None,
) -> HTMLResponse:
    """Record the ticked and unticked purposes, then show the form again with a notice."""
    try:
        with unit_of_work(engine) as session:
            outcome = save_preferences(
                session=session,
                token=token or "",
                chosen=purpose or [],
                settings=settings.consent,
                now=utcnow(),
                visitor=_visitor(request),
            )
            person, consents = preferences_view(
                session=session, token=token or "", settings=settings.consent, now=utcnow()
            )
    except AmigoError as error:
        return _error_page(request, error, lang)
    language = _language(request, lang, person)
    return _page(
        request,
        "preferences.html",
        language,
        title=text(language, "preferences.title"),
        greeting=_greeting(language, person),
        notice=text(language, "preferences.saved" if outcome.changed else "preferences.unchanged"),
        consents=list(consents.values()),
        token=token,
    )


# ---------------------------------------------------------------- double opt-in


@router.get("/confirm", response_class=HTMLResponse)
def confirm_page(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    token: str = "",
    lang: str | None = None,
) -> HTMLResponse:
    """Ask the person to confirm the subscription their link names (the button confirms)."""
    try:
        with unit_of_work(engine) as session:
            person, purpose_key, confirmed = confirmation_view(
                session=session, token=token, settings=settings.consent, now=utcnow()
            )
    except AmigoError as error:
        return _error_page(request, error, lang)
    language = _language(request, lang, person)
    purpose = text(language, f"purpose.{purpose_key}")
    return _page(
        request,
        "action.html",
        language,
        title=text(language, "confirm.title"),
        greeting=_greeting(language, person),
        notice=text(language, "confirm.already", purpose=purpose) if confirmed else None,
        question=None if confirmed else text(language, "confirm.ask", purpose=purpose),
        button=text(language, "confirm.button"),
        action="/consent/confirm",
        token=token,
    )


@router.post("/confirm", response_class=HTMLResponse)
def confirm_action(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    token: FormText = None,
    lang: FormText = None,
) -> HTMLResponse:
    """Confirm the subscription; a second time says so and changes nothing."""
    try:
        with unit_of_work(engine) as session:
            outcome = confirm_subscription(
                session=session,
                token=token or "",
                settings=settings.consent,
                now=utcnow(),
                visitor=_visitor(request),
            )
            preferences = _preferences_link(session, outcome, settings)
    except AmigoError as error:
        return _error_page(request, error, lang)
    language = _language(request, lang, outcome.person)
    purpose = text(language, f"purpose.{outcome.purpose}")
    return _page(
        request,
        "action.html",
        language,
        title=text(language, "confirm.title"),
        greeting=_greeting(language, outcome.person),
        notice=text(
            language, "confirm.already" if outcome.already else "confirm.done", purpose=purpose
        ),
        preferences_url=preferences,
    )
