"""OAuth 2.0 client credentials: secrets hashed, tokens short-lived, revocation enforced."""

from __future__ import annotations

import base64
import time

import httpx
import jwt
from sqlalchemy import select

from amigo.api.models import ApiClient
from amigo.api.oauth import issue_token
from amigo.core.roles import Permission, Role, permissions_of
from api.conftest import TOKEN_KEY, LiveApi


def _token(api: LiveApi, **form: str) -> httpx.Response:
    return httpx.post(
        f"{api.url}/v1/oauth/token", data={"grant_type": "client_credentials", **form}
    )


def test_a_client_gets_a_signed_token_carrying_its_roles_permissions(live_api: LiveApi) -> None:
    client_id, secret = live_api.new_client(Role.MARKETER)

    answer = _token(live_api, client_id=client_id, client_secret=secret)

    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"  # noqa: S105 - the RFC 6749 token type
    assert body["expires_in"] == live_api.settings.api.token_ttl_seconds
    claims = jwt.decode(body["access_token"], TOKEN_KEY, algorithms=["HS256"], issuer="amigo")
    assert claims["sub"] == client_id
    assert claims["role"] == "marketer"
    assert set(claims["scope"].split()) == {p.value for p in permissions_of(Role.MARKETER)}
    assert Permission.HANDLE_SUBJECT_REQUESTS.value not in claims["scope"]
    assert claims["exp"] - claims["iat"] == live_api.settings.api.token_ttl_seconds


def test_http_basic_credentials_work_as_well(live_api: LiveApi) -> None:
    client_id, secret = live_api.new_client(Role.INTEGRATION)

    answer = httpx.post(
        f"{live_api.url}/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )

    assert answer.status_code == 200, answer.text


def test_the_secret_is_stored_as_an_argon2_hash_only(live_api: LiveApi) -> None:
    client_id, secret = live_api.new_client(Role.ADMIN)

    with live_api.session() as session:
        stored = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    assert stored is not None
    assert stored.secret_hash.startswith("$argon2id$")
    assert secret not in stored.secret_hash


def test_wrong_secrets_unknown_clients_and_bad_grants_are_refused_clearly(
    live_api: LiveApi,
) -> None:
    client_id, secret = live_api.new_client(Role.DPO)

    wrong = _token(live_api, client_id=client_id, client_secret=secret + "x")
    unknown = _token(live_api, client_id="amigo-0000000000000000", client_secret=secret)
    missing = _token(live_api, client_id=client_id)
    grant = httpx.post(
        f"{live_api.url}/v1/oauth/token",
        data={"grant_type": "password", "client_id": client_id, "client_secret": secret},
    )
    no_grant = httpx.post(f"{live_api.url}/v1/oauth/token", data={"client_id": client_id})
    garbled = httpx.post(
        f"{live_api.url}/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic %%%not-base64"},
    )

    for answer in (wrong, unknown, missing, garbled):
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["code"] == "invalid_client"
    assert grant.status_code == 400
    assert grant.json()["error"]["code"] == "unsupported_grant_type"
    assert no_grant.status_code == 422
    assert no_grant.json()["error"]["code"] == "invalid_request"


def test_expired_forged_and_malformed_tokens_get_401(live_api: LiveApi) -> None:
    with live_api.session() as session:
        client = session.scalars(select(ApiClient).where(ApiClient.role == Role.ADMIN)).first()
    if client is None:
        live_api.new_client(Role.ADMIN)
        with live_api.session() as session:
            client = session.scalars(select(ApiClient).where(ApiClient.role == Role.ADMIN)).one()
    expired = issue_token(client=client, key=TOKEN_KEY, ttl_seconds=60, now=time.time() - 3600)
    forged = issue_token(
        client=client, key="not-the-servers-key-but-long-enough-to-sign", ttl_seconds=60
    )
    payload = forged.token.split(".")[1]
    claims = base64.urlsafe_b64decode(payload + "==")
    assert b'"role":"admin"' in claims

    answers = {
        "expired": httpx.get(
            f"{live_api.url}/v1/customers/1", headers={"Authorization": f"Bearer {expired.token}"}
        ),
        "forged": httpx.get(
            f"{live_api.url}/v1/customers/1", headers={"Authorization": f"Bearer {forged.token}"}
        ),
        "garbage": httpx.get(
            f"{live_api.url}/v1/customers/1", headers={"Authorization": "Bearer abc.def"}
        ),
        "scheme": httpx.get(
            f"{live_api.url}/v1/customers/1", headers={"Authorization": "Basic YTpi"}
        ),
    }

    for name, answer in answers.items():
        assert answer.status_code == 401, name
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["error"]["message"], name
    assert "expired" in answers["expired"].json()["error"]["message"]


def test_a_revoked_client_can_neither_get_nor_use_a_token(live_api: LiveApi) -> None:
    from amigo.api.oauth import revoke_client  # noqa: PLC0415 - the step under test
    from amigo.core.clock import utcnow  # noqa: PLC0415
    from amigo.core.db import unit_of_work  # noqa: PLC0415

    client_id, secret = live_api.new_client(Role.SALES_ASSOCIATE)
    token = _token(live_api, client_id=client_id, client_secret=secret).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    before = httpx.get(
        f"{live_api.url}/v1/customers", params={"last_name": "Martin"}, headers=headers
    )

    with unit_of_work(live_api.engine) as session:
        revoke_client(session=session, client_id=client_id, now=utcnow())

    after = httpx.get(
        f"{live_api.url}/v1/customers", params={"last_name": "Martin"}, headers=headers
    )
    again = _token(live_api, client_id=client_id, client_secret=secret)
    assert before.status_code == 200
    assert after.status_code == 401
    assert "revoked" in after.json()["error"]["message"]
    assert again.status_code == 401
