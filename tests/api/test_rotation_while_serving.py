"""`amigo keys rotate` while `amigo serve` keeps answering: no error, nothing unreadable after.

Real processes in one working directory (the embedded mode's key files): a
repository loaded from a generated export, the API served by Uvicorn, a
client reading Client 360s and filing subject requests (whose details are
encrypted) the whole time, and the rotation run beside it. The serving
process meets values under the new key, reloads the key file, and goes on.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from amigo.core.config import EncryptionSettings
from amigo.core.crypto import KeyRing, crypto_from_settings, using_crypto
from amigo.core.db import normalize_url
from amigo.profiles.models import GoldenCustomer
from amigo.synth import generate


def _amigo(*args: str, cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amigo.cli", *args],
        env=_env(url),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=cwd,
    )


def _env(url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AMIGO_")}
    return {**clean, "AMIGO_DATABASE_URL": url, "COLUMNS": "200"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def workdir(tmp_path: Path, fresh_database_url: str) -> Path:
    """Return a working directory whose repository holds a small generated export."""
    export = tmp_path / "export"
    generate(customers=150, seed=3, out_dir=export)
    loaded = _amigo("load", str(export), cwd=tmp_path, url=fresh_database_url)
    assert loaded.returncode == 0, loaded.stderr
    return tmp_path


@pytest.fixture
def server(workdir: Path, fresh_database_url: str) -> Iterator[str]:
    """Serve the API from the working directory; yield its base URL."""
    port = _free_port()
    log = workdir / "serve.log"
    with log.open("w", encoding="utf-8") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "amigo.cli", "serve", "--port", str(port)],
            env=_env(fresh_database_url),
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(timeout=20)
            raise RuntimeError(f"amigo serve did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _token(workdir: Path, url: str, base: str, role: str) -> str:
    created = _amigo("clients", "create", "--name", role, "--role", role, cwd=workdir, url=url)
    assert created.returncode == 0, created.stderr
    client_id = re.search(r"client_id:\s+(\S+)", created.stdout)
    secret = re.search(r"client_secret:\s+(\S+)", created.stdout)
    assert client_id is not None
    assert secret is not None
    response = httpx.post(
        f"{base}/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id.group(1), secret.group(1)),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_keys_rotate_while_the_api_reads_and_writes_encrypted_fields(
    workdir: Path, fresh_database_url: str, server: str
) -> None:
    keys = crypto_from_settings(
        EncryptionSettings(
            key_file=workdir / "amigo-encryption.key",
            index_key_file=workdir / "amigo-index.key",
        )
    )
    engine = create_engine(normalize_url(fresh_database_url))
    with using_crypto(keys), engine.connect() as connection:
        people = connection.execute(
            select(GoldenCustomer.id, GoldenCustomer.email).where(GoldenCustomer.email.is_not(None))
        ).all()
    engine.dispose()
    assert len(people) > 60
    reader = {"Authorization": f"Bearer {_token(workdir, fresh_database_url, server, 'admin')}"}
    dpo = {"Authorization": f"Bearer {_token(workdir, fresh_database_url, server, 'dpo')}"}
    failures: list[str] = []
    filed: dict[int, str] = {}
    done = threading.Event()

    def traffic() -> None:
        with httpx.Client(base_url=server, timeout=30) as client:
            turn = 0
            while not done.is_set() or turn < 40:
                customer_id, email = people[turn % len(people)]
                shown = client.get(f"/v1/customers/{customer_id}", headers=reader)
                if shown.status_code != 200 or shown.json()["profile"]["email"] != email:
                    failures.append(f"GET {customer_id}: {shown.status_code} {shown.text[:200]}")
                if turn < len(people) and customer_id not in filed:
                    details = f"Please erase everything about {email} (turn {turn})"
                    made = client.post(
                        "/v1/subject-requests",
                        headers=dpo,
                        json={
                            "customer_id": customer_id,
                            "type": "access",
                            "channel": "email",
                            "details": details,
                        },
                    )
                    if made.status_code != 201:
                        failures.append(f"POST {customer_id}: {made.status_code} {made.text[:200]}")
                    else:
                        filed[int(made.json()["id"])] = details
                turn += 1

    worker = threading.Thread(target=traffic)
    worker.start()
    time.sleep(1)
    rotated = _amigo("keys", "rotate", "--batch-size", "100", cwd=workdir, url=fresh_database_url)
    done.set()
    worker.join(timeout=300)

    assert rotated.returncode == 0, rotated.stderr
    assert "new key k2 current" in rotated.stdout
    assert failures == []
    assert len(filed) > 40
    # What the server wrote under k1 before it met a k2 value: a second pass takes it.
    again = _amigo("keys", "rotate", "--reencrypt-only", cwd=workdir, url=fresh_database_url)
    assert again.returncode == 0, again.stderr
    assert "every value is under the current key" in again.stdout
    ring = KeyRing.parse((workdir / "amigo-encryption.key").read_text(encoding="ascii"))
    assert list(ring.keys) == ["k2", "k1"]
    with httpx.Client(base_url=server, timeout=30) as client:
        for request_id, details in filed.items():
            shown = client.get(f"/v1/subject-requests/{request_id}", headers=dpo)
            assert shown.status_code == 200, shown.text
            assert shown.json()["details"] == details
