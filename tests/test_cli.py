"""The `balise` command: keys, migrations, and a real waitress server started and stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import select

from balise.db.tables import api_keys


def test_keys_create_prints_the_key_alone_on_the_last_line_and_stores_a_hash(runner, db):
    result = runner("keys", "create", "--name", "ci", "--role", "editor")
    assert result.exit_code == 0
    key = result.output.splitlines()[-1]
    assert key.startswith("blz_") and len(key) > 40 and " " not in key
    with db.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.name == "ci")).one()
    assert row.role == "editor"
    assert key not in {str(v) for v in row}


def test_keys_list_and_revoke(runner):
    runner("keys", "create", "--name", "one", "--role", "viewer")
    listing = runner("keys", "list").output
    assert "one\tviewer" in listing and "active" in listing
    assert runner("keys", "revoke", "one").exit_code == 0
    assert "revoked" in runner("keys", "list").output
    again = runner("keys", "revoke", "one")
    assert again.exit_code == 1 and "No live API key" in again.output


def test_a_duplicate_key_name_is_a_clear_error(runner):
    runner("keys", "create", "--name", "dup", "--role", "viewer")
    result = runner("keys", "create", "--name", "dup", "--role", "viewer")
    assert result.exit_code == 1 and "already exists" in result.output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()  # noqa: S310
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise TimeoutError(url)


def first_run_block(stdout) -> list[str]:
    """The lines `serve --init` prints once it listens, up to the dashboard's address."""
    lines: list[str] = []
    while len(lines) < 20 and not (lines and "/dashboard/login" in lines[-1]):
        lines.append(stdout.readline().rstrip("\n"))
    return lines


def test_serve_migrates_prints_a_first_key_serves_and_stops_cleanly_on_sigterm(tmp_path: Path):
    port = free_port()
    env = os.environ | {
        "BALISE_DATA_DIR": str(tmp_path / "instance"),
        "BALISE_PORT": str(port),
        "BALISE_DATABASE_URL": "",
        "BALISE_BASE_URL": "",
    }
    env.pop("BALISE_SECRET_KEY", None)
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "balise", "serve", "--init"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        block = first_run_block(proc.stdout)
        key = next(line.strip() for line in block if line.strip().startswith("blz_"))
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/links",
            data=json.dumps({"url": "https://example.org/x", "slug": "served"}).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request) as r:  # noqa: S310
            assert r.status == 201
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/served") as r:  # noqa: S310
            assert "Redirection en cours..." in r.read().decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "shutting down" in err and "stopped" in err
    # The block says where Balise serves and what to do next; the logs do not drown it.
    said = "\n".join(block)
    assert f"Balise is serving on http://127.0.0.1:{port}" in said
    assert "users create you@example.org --role admin" in said
    assert f"open http://127.0.0.1:{port}/dashboard/login" in said
    assert said.count(key) == 1 and key not in out + err
    assert f"serving on http://127.0.0.1:{port}\n" in err
    assert "alembic" not in err and "database schema created (revision" in err
    assert (tmp_path / "instance" / "balise.db").exists()
    secret = (tmp_path / "instance" / "secret_key").read_text().strip()
    assert secret not in out + err


def test_db_upgrade_command(tmp_path: Path):
    env = os.environ | {"BALISE_DATA_DIR": str(tmp_path), "BALISE_DATABASE_URL": ""}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "balise", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "balise.db").exists()
