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


def serve_init(env: dict[str, str], port: int) -> subprocess.Popen:
    """`balise serve --init` started, once it answers /healthz (killed if it never does)."""
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "balise", "serve", "--init"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
    except TimeoutError:
        proc.kill()
        proc.communicate(timeout=20)
        raise
    return proc


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
    proc = serve_init(env, port)
    try:
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


def serve_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    return env | {"BALISE_DATA_DIR": str(tmp_path / "instance")} | settings


def balise_run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own module, our own interpreter
        [sys.executable, "-m", "balise", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def said_in_one_line(result: subprocess.CompletedProcess) -> str:
    """The error a failed command printed: its one `Error:` line, and no traceback."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_serve_on_a_port_in_use_says_so_and_the_next_start_still_shows_the_first_key(
    tmp_path: Path,
):
    port = free_port()
    env = serve_env(tmp_path, BALISE_PORT=str(port))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        refused = balise_run(env, "serve", "--init")
    said = said_in_one_line(refused)
    assert f"cannot listen on http://127.0.0.1:{port} (Address already in use)" in said
    assert "BALISE_PORT" in said and "blz_" not in refused.stdout + refused.stderr
    # The failed start created no key nobody saw: once the port is free, the first run's
    # block shows one.
    proc = serve_init(env, port)
    proc.send_signal(signal.SIGTERM)
    out, _err = proc.communicate(timeout=20)
    assert "First run: an admin API key was created." in out
    assert any(line.strip().startswith("blz_") for line in out.splitlines()), out


def test_serve_on_a_host_this_machine_does_not_have_says_so(tmp_path: Path):
    env = serve_env(tmp_path, BALISE_HOST="balise.invalid", BALISE_PORT=str(free_port()))
    said = said_in_one_line(balise_run(env, "serve"))
    assert "cannot listen on http://balise.invalid:" in said
    assert "BALISE_HOST='balise.invalid' is not a name or address of this machine" in said


def test_serve_and_db_upgrade_on_a_database_that_does_not_answer_say_which_in_one_line(
    tmp_path: Path,
):
    closed = free_port()  # nothing listens there
    url = f"postgresql://postgres:hunter22@127.0.0.1:{closed}/test"
    env = serve_env(tmp_path, BALISE_DATABASE_URL=url, BALISE_PORT=str(free_port()))
    for args in (("serve", "--init"), ("db", "upgrade")):
        result = balise_run(env, *args)
        said = said_in_one_line(result)
        assert f"cannot open the database postgresql://postgres:***@127.0.0.1:{closed}/test" in said
        assert "Connection refused" in said
        assert "hunter22" not in result.stdout + result.stderr


def test_serve_and_db_upgrade_with_a_data_directory_they_cannot_make_say_which(tmp_path: Path):
    (tmp_path / "a-file").write_text("not a directory")
    env = serve_env(tmp_path, BALISE_DATA_DIR=str(tmp_path / "a-file" / "instance"))
    for args in (("serve", "--init"), ("db", "upgrade")):
        said = said_in_one_line(balise_run(env, *args))
        assert f"cannot create the data directory (BALISE_DATA_DIR) {tmp_path}/a-file/" in said
        assert "(Not a directory)" in said
