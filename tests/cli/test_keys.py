"""`amigo keys`: the ring shown by ids only, rotation of the embedded key file, one-line errors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from amigo.core.crypto import KeyRing, new_key


def _keys(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return _amigo("keys", *args, cwd=cwd, **env)


def _amigo(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AMIGO_ENCRYPTION_")}
    return subprocess.run(
        [sys.executable, "-m", "amigo.cli", *args],
        env={
            **clean,
            "AMIGO_DATABASE_URL": f"sqlite:///{cwd / 'amigo.db'}",
            "COLUMNS": "200",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )


def test_status_and_rotate_in_embedded_mode(tmp_path: Path) -> None:
    assert _amigo("db", "upgrade", cwd=tmp_path).returncode == 0
    status = _keys("status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert f"current key k1; ring k1 (from {tmp_path / 'amigo-encryption.key'})" in status.stdout
    assert "tracking_message: 0 values under older keys" in status.stdout
    key_file = tmp_path / "amigo-encryption.key"
    for path in (key_file, tmp_path / "amigo-index.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = KeyRing.parse(key_file.read_text(encoding="ascii"))

    rotated = _keys("rotate", cwd=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert "new key k2 current; 0 values re-encrypted in " in rotated.stdout
    assert "older keys may leave the ring" in rotated.stdout
    ring = KeyRing.parse(key_file.read_text(encoding="ascii"))
    assert list(ring.keys) == ["k2", "k1"]
    assert ring.keys["k1"] == first.keys["k1"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "current key k2; ring k2, k1" in _keys("status", cwd=tmp_path).stdout
    shown = status.stdout + rotated.stdout + rotated.stderr
    assert not any(line.split(":", 1)[1].strip() in shown for line in ring.dump().splitlines())


def test_keys_from_the_environment_are_not_rotated_in_place(tmp_path: Path) -> None:
    env = {"AMIGO_ENCRYPTION_KEY": f"k2:{new_key()} k1:{new_key()}"}
    env["AMIGO_ENCRYPTION_INDEX_KEY"] = new_key()
    assert _amigo("db", "upgrade", cwd=tmp_path, **env).returncode == 0
    refused = _keys("rotate", cwd=tmp_path, **env)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "come from AMIGO_ENCRYPTION_KEY: add the new id:base64 entry there" in refused.stderr
    done = _keys("rotate", "--reencrypt-only", cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    assert "key k2 current" in done.stdout
    assert not list(tmp_path.glob("*.key"))


def test_a_bad_key_in_the_environment_is_one_line(tmp_path: Path) -> None:
    result = _keys(
        "status",
        cwd=tmp_path,
        AMIGO_ENCRYPTION_KEY="k1:c2hvcnQ=",
        AMIGO_ENCRYPTION_INDEX_KEY=new_key(),
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: AMIGO_ENCRYPTION_KEY: key 'k1' decodes to 5 bytes")
    assert "Traceback" not in result.stderr
