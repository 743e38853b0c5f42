"""The `balise` command on a database that is missing, not migrated or broken: one line that
names the database (never its password), exit 1, nothing created, no password hash printed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from balise.db import make_engine, upgrade
from tests.databases import scratch_database

BALISE = str(Path(sys.executable).with_name("balise"))
PASSWORD_LINE = "a long password\n"


def balise(*args: str, cwd: Path, database_url: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    if database_url is not None:
        env["BALISE_DATABASE_URL"] = database_url
    return subprocess.run(  # noqa: S603 - our own console script
        [BALISE, *args],
        input=PASSWORD_LINE,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def create_admin(cwd: Path, database_url: str | None = None) -> subprocess.CompletedProcess:
    return balise(
        "users", "create", "new@example.org", "--role", "admin", "--password-stdin",
        cwd=cwd, database_url=database_url,
    )  # fmt: skip


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and "$argon2" not in done.stderr
    return lines[0]


def test_a_newcomer_in_another_directory_is_told_where_balise_looked(tmp_path):
    done = create_admin(tmp_path)
    line = one_line_error(done)
    assert line.startswith("Error: no Balise database at sqlite:///")
    assert str(tmp_path / "instance" / "balise.db") in line
    assert "balise db upgrade" in line
    assert list(tmp_path.iterdir()) == []  # neither ./instance nor a database file


def test_every_command_refuses_a_missing_database(tmp_path):
    for args in (("keys", "list"), ("users", "list"), ("stats",), ("summaries", "show", "x")):
        line = one_line_error(balise(*args, cwd=tmp_path))
        assert "no Balise database at" in line
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path) -> Iterator[str]:
    """The URL of a database that exists but was never migrated (PostgreSQL: with a password)."""
    if request.param == "sqlite":
        path = tmp_path / "empty.db"
        path.touch()
        yield f"sqlite:///{path}"
        return
    url, drop = scratch_database(request.getfixturevalue("postgres_url"), "balise_cli")
    # The test server trusts local connections, so the password is ignored but still in the URL.
    yield make_url(url).set(password="s3cret-pw").render_as_string(hide_password=False)
    drop()


def test_an_unmigrated_database_is_named_without_its_password(empty_database, tmp_path):
    line = one_line_error(create_admin(tmp_path, empty_database))
    assert "is not migrated (empty" in line and "run `balise db upgrade` first" in line
    assert make_url(empty_database).render_as_string(hide_password=True) in line
    assert "s3cret-pw" not in line
    engine = make_engine(empty_database)
    try:
        upgrade(engine)  # once migrated, the same command works
    finally:
        engine.dispose()
    done = create_admin(tmp_path, empty_database)
    assert done.returncode == 0 and "created admin account new@example.org" in done.stdout


def test_a_database_error_never_prints_the_password_hash(empty_database, tmp_path):
    engine = make_engine(empty_database)
    try:
        upgrade(engine)
        with engine.begin() as conn:  # a damaged schema: the insert itself fails
            conn.execute(text("DROP TABLE users CASCADE" if "postgresql" in empty_database
                              else "DROP TABLE users"))  # fmt: skip
    finally:
        engine.dispose()
    line = one_line_error(create_admin(tmp_path, empty_database))
    assert line.startswith("Error: database error on ")
    assert "users" in line and "s3cret-pw" not in line


def test_engine_errors_hide_their_parameters(db):
    with pytest.raises(Exception) as raised:  # noqa: PT011 - any driver error will do
        with db.begin() as conn:
            conn.execute(
                text("INSERT INTO no_such_table (secret) VALUES (:secret)"),
                {"secret": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"},
            )
    assert "no_such_table" in str(raised.value)
    assert "$argon2id" not in str(raised.value)
