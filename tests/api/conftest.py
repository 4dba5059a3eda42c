"""The /v1 API served by a real Uvicorn on loopback, over a small loaded repository."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from amigo.api.app import create_app
from amigo.api.oauth import create_client
from amigo.api.security import RevocationCache
from amigo.core.clock import utcnow
from amigo.core.config import ApiSettings, PrivacySettings, Settings, ShopifySettings
from amigo.core.db import make_engine, unit_of_work
from amigo.core.roles import Role
from amigo.ingest.service import load_directory
from amigo.synth import generate
from conftest import DatabaseFactory
from live import served

TOKEN_KEY = "test-token-signing-key-0123456789abcdef"  # noqa: S105 - the suite's own key
SUPPRESSION_KEY = "test-suppression-key-0123456789abcdef"
SHOPIFY_SECRET = "shpss_api-suite-secret-0123456789"  # noqa: S105 - the suite's own app secret


@dataclass
class LiveApi:
    """A running API: its address, its database, and a client per role."""

    url: str
    engine: Engine
    settings: Settings
    credentials: dict[Role, tuple[str, str]] = field(default_factory=dict)
    _tokens: dict[Role, str] = field(default_factory=dict)

    def new_client(self, role: Role, name: str = "test") -> tuple[str, str]:
        """Create an API client; return its id and secret."""
        with unit_of_work(self.engine) as session:
            created = create_client(session=session, name=name, role=role.value, now=utcnow())
            return created.client.client_id, created.secret

    def token(self, role: Role) -> str:
        """Return an access token of the role's client (fetched once through /v1/oauth/token)."""
        if role not in self._tokens:
            if role not in self.credentials:
                self.credentials[role] = self.new_client(role, name=f"{role.value} client")
            client_id, secret = self.credentials[role]
            answer = httpx.post(
                f"{self.url}/v1/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                },
            )
            assert answer.status_code == 200, answer.text
            self._tokens[role] = answer.json()["access_token"]
        return self._tokens[role]

    def headers(self, role: Role, **extra: str) -> dict[str, str]:
        """Return the Authorization header of the role's client, plus any extra headers."""
        return {"Authorization": f"Bearer {self.token(role)}", **extra}

    def session(self) -> Session:
        """Open a session on the API's database."""
        return Session(self.engine)


@pytest.fixture(scope="package")
def live_api(
    database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApi]:
    """Load 200 generated customers and serve the API over them."""
    export = tmp_path_factory.mktemp("api-export") / "data"
    generate(customers=200, seed=5, out_dir=export)
    engine = make_engine(database_factory.new_url())
    load_directory(engine=engine, directory=export)
    settings = Settings(
        api=ApiSettings(token_key=SecretStr(TOKEN_KEY), rate_per_second=1000, rate_burst=5000),
        # Access reports and portability archives written by executed requests stay in tmp.
        privacy=PrivacySettings(
            export_dir=tmp_path_factory.mktemp("api-privacy-exports"),
            suppression_key=SecretStr(SUPPRESSION_KEY),
        ),
        # Configured, so that generated webhook calls meet the signature check (401), not a 503.
        shopify=ShopifySettings(api_secret=SecretStr(SHOPIFY_SECRET)),
    )
    app = create_app(engine=engine, settings=settings)
    app.state.revocations = RevocationCache(ttl=0)  # a revocation shows at once in tests
    try:
        with served(app) as url:
            yield LiveApi(url, engine, settings)
    finally:
        engine.dispose()
