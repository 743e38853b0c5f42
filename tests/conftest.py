"""Shared fixtures: every test that touches storage runs on SQLite and on PostgreSQL.

PostgreSQL runs need BALISE_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1/test); each
test session creates its own database there and drops it at the end, so runs never collide.

The suite runs on parallel workers (pytest-xdist, settings in pyproject.toml), each test file
whole on one worker, so a browser or live server started once for a module (or the extension
package) serves all its tests. Each worker is a session of its own: its own PostgreSQL database
(named by its pid), SQLite template and temporary directories; the tests that use Redis give
their keys a prefix of their own; live servers take free ports.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from balise import create_app
from balise.accounts import keys
from balise.db import make_engine, upgrade
from balise.db.tables import metadata
from balise.links import store as links
from tests.dashboard_live import CHROMIUM
from tests.databases import scratch_database

BASE_URL = "https://s.test"

# The files that take longest (seconds of one worker, 2-core machine, November 2026), sent to
# the workers first: with --dist=loadfile a long file that starts last holds up the end of the
# run while the other workers sit idle. The other files keep their collection order.
LONGEST_FILES = (
    "test_api_fuzz.py",  # 350 (schemathesis, both databases)
    "test_a11y_browser.py",  # 250
    "test_dashboard_browser.py",  # 185
    "test_shutdown.py",  # 130
    "test_importers.py",  # 100
    "test_multi_instance.py",  # 85
    "test_clicks_e2e.py",  # 85
    "test_hostile_requests.py",  # 80
    "test_stats_pyramid.py",  # 75
    "test_link_controls_live.py",  # 75
    "test_cli_database.py",  # 70
    "test_linkcache.py",  # 65
    "test_outage.py",  # 60
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest as is


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test session, dropped afterwards."""
    admin_url = os.environ.get("BALISE_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.skip("PostgreSQL tests skipped: BALISE_TEST_POSTGRES_URL is not set")
    try:
        url, drop = scratch_database(admin_url, f"balise_test_{os.getpid()}")
    except Exception as exc:  # noqa: BLE001 - any connection failure means "unreachable"
        pytest.skip(
            f"PostgreSQL tests skipped: {admin_url} is unreachable ({exc.__class__.__name__})"
        )
    yield url
    drop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite database file that each SQLite test gets a copy of."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:  # one file, no WAL beside it, for a plain copy
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _migrated() -> Iterator[dict[str, Engine]]:
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, _migrated: dict[str, Engine]) -> Iterator[Engine]:
    """An engine on a migrated, empty database of each backend.

    SQLite: a file of the test's own, copied from a migrated template, so a thread an earlier
    test left running can never hold its write lock. PostgreSQL: one database per session,
    emptied after each test.
    """
    backend = request.param
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = request.getfixturevalue("tmp_path") / "balise.db"
        shutil.copyfile(template, path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    if backend not in _migrated:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        upgrade(engine)
        _migrated[backend] = engine
    engine = _migrated[backend]
    yield engine
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def settings(db: Engine, tmp_path: Any) -> dict[str, Any]:
    return {
        "DATABASE_URL": db.url.render_as_string(hide_password=False),
        "DATA_DIR": str(tmp_path / "instance"),
        "BASE_URL": BASE_URL,
        # Links made here lead to example.org: no background card fetch that would outlive
        # the test (tests/test_cards.py turns it on against a local server). Text, as the
        # tests that pass these settings as BALISE_* variables need.
        "FETCH_METADATA": "0",
    }


@pytest.fixture
def app(settings: dict[str, Any]) -> Iterator[Any]:
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["balise"].shutdown()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(settings: dict[str, Any]) -> Callable[..., Any]:
    """Run the `balise` command with this test's database; returns click's Result."""
    from balise.cli import main

    env = {f"BALISE_{k}": v for k, v in settings.items()}

    def invoke(*args: str, **kwargs: Any) -> Any:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False, **kwargs)

    return invoke


def _key(db: Engine, role: str) -> str:
    with db.begin() as conn:
        _key, plaintext = keys.create_key(conn, f"{role}-{secrets.token_hex(3)}", role)
    return plaintext


@pytest.fixture
def admin_headers(db: Engine) -> dict[str, str]:
    return {"Authorization": f"Bearer {_key(db, 'admin')}"}


@pytest.fixture
def editor_headers(db: Engine) -> dict[str, str]:
    return {"Authorization": f"Bearer {_key(db, 'editor')}"}


@pytest.fixture
def viewer_headers(db: Engine) -> dict[str, str]:
    return {"Authorization": f"Bearer {_key(db, 'viewer')}"}


@pytest.fixture
def make_link(db: Engine) -> Callable[..., links.Link]:
    """Insert a link straight through the domain module: make_link(url=..., slug=..., ...)."""

    def make(**overrides: Any) -> links.Link:
        values = {"url": "https://example.org/article"} | overrides
        with db.begin() as conn:
            return links.create_link(conn, values, base_url=BASE_URL)

    return make


# Dashboard (issue 7): accounts and a signed-in test client.
DASHBOARD_PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Create an account: make_user(email=..., role=..., password=..., lang=..., disabled=...).

    Hashes stay argon2id, with a small cost so the suite stays quick.
    """
    from argon2 import PasswordHasher

    from balise.accounts import users

    monkeypatch.setattr(users, "hasher", PasswordHasher(time_cost=1, memory_cost=1024))

    def make(
        email: str = "editor@example.org",
        role: str = "editor",
        password: str = DASHBOARD_PASSWORD,
        lang: str | None = None,
        disabled: bool = False,
    ) -> Any:
        with db.begin() as conn:
            user = users.create_user(conn, email, password, role, lang=lang)
            return users.set_disabled(conn, user, True) if disabled else user

    return make


class DashboardClient:
    """A test client that signs in through the form and sends the page's CSRF token."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def csrf_token(self, path: str = "/dashboard/login") -> str:
        import re

        html = self.client.get(path).get_data(as_text=True)
        found = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def login(self, email: str, password: str = DASHBOARD_PASSWORD) -> Any:
        token = self.csrf_token("/dashboard/login")
        return self.client.post(
            "/dashboard/login", data={"email": email, "password": password, "csrf_token": token}
        )

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    @staticmethod
    def field_errors(response: Any) -> dict[str, str]:
        """The validation errors a form page shows beside its fields, by field name."""
        import re

        html = response.get_data(as_text=True)
        return dict(re.findall(r'<p class="error" id="e-([a-z_]+)">([^<]+)</p>', html))

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a dashboard form with a valid CSRF token (taken from the account page)."""
        form = {"csrf_token": self.csrf_token("/dashboard/account")} | (data or {})
        return self.client.post(path, data=form, **kwargs)


@pytest.fixture
def dashboard(client: Any) -> DashboardClient:
    return DashboardClient(client)


@pytest.fixture
def editor(dashboard: DashboardClient, make_user: Callable[..., Any]) -> DashboardClient:
    """A client signed in as an editor (editor@example.org)."""
    make_user("editor@example.org", "editor")
    assert dashboard.login("editor@example.org").status_code == 302
    return dashboard


@pytest.fixture
def viewer(dashboard: DashboardClient, make_user: Callable[..., Any]) -> DashboardClient:
    """A client signed in as a viewer (viewer@example.org)."""
    make_user("viewer@example.org", "viewer")
    assert dashboard.login("viewer@example.org").status_code == 302
    return dashboard


@pytest.fixture(scope="session")
def redis_url() -> str:
    """BALISE_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15), skipped when unset or down."""
    url = os.environ.get("BALISE_TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis tests skipped: BALISE_TEST_REDIS_URL is not set")
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis tests skipped: {url} is unreachable ({exc.__class__.__name__})")
    finally:
        client.close()
    return url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (headless), one per test module; skips without it."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()
