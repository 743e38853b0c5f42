"""Schemathesis fuzzes every operation of /api/v1/openapi.json against a real `balise serve`
(SQLite, then PostgreSQL) with an admin key: no server error, and no status, media type,
header or body that the document does not describe.

It runs the `schemathesis` command, all four phases (examples, coverage, fuzzing, stateful
sequences), so a failure prints what a developer would get by hand, with the curl command
that reproduces it (each such fix also gets a regression test in the ordinary suite).
Key revocation runs with a key of its own, so it never revokes the key the other operations
use. Drafts fetch pages and generated drafts ask a language model: both are a stub server on
127.0.0.1 (tests/fuzz_hooks.py moves link targets there), so nothing leaves the machine.
MAX_EXAMPLES bounds the run to about a minute per database on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from balise.accounts import keys
from balise.db import make_engine, upgrade
from tests.databases import scratch_database
from tests.live_server import LiveServer
from tests.local_servers import Server, chat_completion, page

pytestmark = pytest.mark.fuzz

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
HOOKS = Path(__file__).with_name("fuzz_hooks.py")
MAX_EXAMPLES = 40  # per operation in the fuzzing phase; the other phases add their own cases
SEED = 20261130  # the same cases on every run; change it to explore others
KEY_NAMES = ("fuzz-admin", "fuzz-revoker")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "ignored_auth",  # an operation that declares a key answers 401 without one
    "use_after_free",  # a deleted link or summary is gone for the operations after
)
GENERATED = {
    "title": "La ville plantera 10 000 arbres",
    "teaser": "Un plan de 12 millions d'euros pour verdir la ville.",
    "recap": "La mairie plantera 10 000 arbres d'ici 2030.",
    "neutral": "D'autres villes ont des plans semblables.",
    "example": "Comme planter un arbre par immeuble.",
    "optimistic": "Des rues plus fraîches l'été.",
    "pessimistic": "Un calendrier jugé trop lent.",
}


class EveryPath(dict[str, Any]):
    """Routes of the stub: the model's endpoint, and an article page at every other path."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key) or page()


@pytest.fixture(scope="module")
def stub() -> Iterator[Server]:
    routes = EveryPath({"/v1/chat/completions": chat_completion(json.dumps(GENERATED))})
    with Server(routes) as server:
        yield server


def _database(backend: str, tmp: Path) -> tuple[str, Any]:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'balise.db'}", lambda: None
    admin_url = os.environ.get("BALISE_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.skip("PostgreSQL fuzzing skipped: BALISE_TEST_POSTGRES_URL is not set")
    try:
        return scratch_database(admin_url, "balise_fuzz")
    except Exception as exc:  # noqa: BLE001 - any connection failure means "unreachable"
        pytest.skip(f"PostgreSQL fuzzing skipped: {admin_url} is unreachable ({exc!r})")


def _keys(url: str) -> tuple[str, str]:
    """The admin key every operation uses, and the one key revocation uses."""
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        admin, revoker = (keys.create_key(conn, name, "admin")[1] for name in KEY_NAMES)
    engine.dispose()
    return admin, revoker


def _config(path: Path, admin: str, revoker: str) -> Path:
    checks = "\n".join(f"{name}.enabled = true" for name in CHECKS)
    # One worker: with two, Python 3.11.7's `ast` could fail in one of schemathesis's threads
    # ("AST constructor recursion depth mismatch", CPython gh-106905, fixed in later releases)
    # and end the run with an error that is not Balise's.
    path.write_text(
        f"""
seed = {SEED}
headers = {{ Authorization = "Bearer {admin}" }}
workers = 1

[generation]
max-examples = {MAX_EXAMPLES}
database = "none"

[checks]
enabled = false
{checks}

[[operations]]
include-operation-id = "revoke_key"
headers = {{ Authorization = "Bearer {revoker}" }}
"""
    )
    return path


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_fuzzing_finds_no_server_error_and_nothing_undocumented(
    backend: str, tmp_path: Path, stub: Server
) -> None:
    url, drop = _database(backend, tmp_path)
    try:
        admin, revoker = _keys(url)
        server = LiveServer(
            tmp_path / "data",
            url,
            BASE_URL="http://s.test",
            FETCH_ALLOW_PRIVATE=1,
            LLM_URL=stub.url + "/v1",
            LLM_MODEL="stub",
            RATELIMIT_CREATE="100000/minute",
            RATELIMIT_AUTH_FAILURES="100000/minute",
        )
        with server:
            started = time.monotonic()
            run = subprocess.run(  # noqa: S603 - our own venv's schemathesis, on 127.0.0.1
                [
                    str(SCHEMATHESIS),
                    "--config-file",
                    str(_config(tmp_path / "schemathesis.toml", admin, revoker)),
                    "run",
                    "--no-color",
                    server.base_url + "/api/v1/openapi.json",
                ],
                env={
                    **os.environ,
                    "SCHEMATHESIS_HOOKS": str(HOOKS),
                    "FUZZ_STUB_ORIGIN": stub.url,
                    "FUZZ_KEPT_KEYS": ",".join(KEY_NAMES),
                },
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=600,
            )
            elapsed = time.monotonic() - started
        log = server.output()
    finally:
        drop()
    phases = re.findall(r"(Examples|Coverage|Fuzzing|Stateful) \(in ([\d.]+s)\)", run.stdout)
    cases = re.search(r"Test cases:\s*\n\s*(.+)", run.stdout)
    print(f"\n{backend}: {cases.group(1) if cases else '?'} in {elapsed:.0f} s", dict(phases))
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert "Traceback" not in log, log[-5000:]  # e.g. an error after a stream's status was sent
