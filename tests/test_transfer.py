"""Export and import of links: every field and summary, CSV and JSON Lines, round trips on
SQLite and PostgreSQL (and from one to the other), and each refused record reported."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from balise.cli import main
from balise.db import make_engine, upgrade
from balise.db.tables import links as links_table
from balise.db.tables import metadata
from balise.links import store
from balise.summaries import store as summaries
from tests.conftest import BASE_URL

SUMMARY = {
    "lang": "en",
    "title": "Ten thousand trees",
    "teaser": "The city plants trees.",
    "recap": 'First paragraph.\n\nSecond paragraph, with "quotes", commas; and é.',
    "optimistic": "Shade, at last.",
    "source_url": "https://example.org/source",
    "origin": "extracted",
}


def seed(engine: Any) -> None:
    """Links that use every field: dates, limits, redirect settings, tags, a summary, text a
    spreadsheet would run, imported clicks."""
    with engine.begin() as conn:
        full = store.create_link(
            conn,
            {
                "url": "https://example.org/a?x=1&y=2",
                "slug": "full-link",
                "title": '=HYPERLINK("http://evil.test")',
                "tags": ["spring, sale", "+promo", "é"],
                "lang": "en",
                "redirect_delay": 3,
                "reading_delay": True,
                "expires_at": datetime(2031, 2, 3, 4, 5, 6, tzinfo=timezone.utc),
                "max_clicks": 42,
                "disabled": True,
            },
            base_url=BASE_URL,
        )
        summaries.save_summary(conn, full, SUMMARY)
        conn.execute(
            update(links_table).where(links_table.c.id == full.id).values(imported_clicks=328)
        )
        store.create_link(
            conn,
            {
                "url": "https://example.org/direct",
                "slug": "direct1",
                "redirect_mode": "direct",
                "redirect_status": 308,
            },
            base_url=BASE_URL,
        )
        store.create_link(
            conn, {"url": "https://example.org/plain", "slug": "plain"}, base_url=BASE_URL
        )


def wipe(engine: Any) -> None:
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


def cli(url: str, *args: str) -> Any:
    env = {"BALISE_DATABASE_URL": url, "BALISE_BASE_URL": BASE_URL, "BALISE_FETCH_METADATA": "0"}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def url_of(engine: Any) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_then_import_into_an_empty_server_gives_the_same_links(db, tmp_path, fmt):
    seed(db)
    first = tmp_path / f"links.{fmt}"
    result = cli(url_of(db), "export", "--with-summaries", str(first))
    assert result.exit_code == 0, result.output
    before = cli(url_of(db), "export", "--with-summaries", "--format", "jsonl").stdout
    wipe(db)

    result = cli(url_of(db), "import", str(first))
    assert result.exit_code == 0, result.output
    assert "3 imported, 0 updated, 0 skipped, 0 failed" in result.stdout
    after = cli(url_of(db), "export", "--with-summaries", "--format", "jsonl").stdout
    assert after == before
    rows = [json.loads(line) for line in after.splitlines()]
    full = rows[0]
    assert full["slug"] == "full-link" and full["title"] == '=HYPERLINK("http://evil.test")'
    assert full["tags"] == ["+promo", "spring, sale", "é"]
    assert full["expires_at"] == "2031-02-03T04:05:06Z" and full["max_clicks"] == 42
    assert full["disabled"] is True and full["reading_delay"] is True
    assert full["redirect_delay"] == 3 and full["imported_clicks"] == 328
    assert full["summary"]["recap"] == SUMMARY["recap"]
    assert full["summary"]["origin"] == "extracted"
    assert (rows[1]["redirect_mode"], rows[1]["redirect_status"]) == ("direct", 308)
    assert rows[2]["summary"] is None
    assert not {"id", "share_secret", "slug_key", "url_key", "version"} & set(full)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_protected_link_never_comes_back_open(db, tmp_path, fmt):
    with db.begin() as conn:
        store.create_link(
            conn,
            {"url": "https://example.org/secret", "slug": "locked", "password": "s3cret pass"},
            base_url=BASE_URL,
        )
    path = tmp_path / f"links.{fmt}"
    assert cli(url_of(db), "export", str(path)).exit_code == 0
    text_out = path.read_text(encoding="utf-8")
    assert "argon2" not in text_out and "s3cret" not in text_out
    wipe(db)

    result = cli(url_of(db), "import", str(path))
    assert result.exit_code == 0, result.output
    assert "(locked): imported: disabled: it had a password" in result.stderr
    with db.connect() as conn:
        link = store.get_link_by_slug(conn, "locked")
    assert link.disabled and not link.password_protected
    assert link.state() == "disabled"


def test_csv_cells_a_spreadsheet_would_run_are_escaped(db, tmp_path):
    seed(db)
    text = cli(url_of(db), "export", "--format", "csv", "--with-summaries").stdout
    header, *rows = list(csv.reader(io.StringIO(text)))
    full = dict(zip(header, rows[0], strict=True))
    assert full["title"] == '\'=HYPERLINK("http://evil.test")'
    assert json.loads(full["tags"]) == ["+promo", "spring, sale", "é"]
    assert full["summary.title"] == "Ten thousand trees" and full["disabled"] == "true"
    assert "summary.created_at" in header and "imported_clicks" in header


def test_the_api_streams_the_same_export(client, db, viewer_headers, tmp_path):
    seed(db)
    for fmt, media in (("jsonl", "application/x-ndjson"), ("csv", "text/csv")):
        r = client.get(
            f"/api/v1/links/export?format={fmt}&with_summaries=true", headers=viewer_headers
        )
        assert r.status_code == 200 and r.mimetype == media
        assert r.headers["Content-Disposition"].endswith(f'.{fmt}"')
        expected = cli(url_of(db), "export", "--with-summaries", "--format", fmt).stdout
        assert r.get_data(as_text=True).replace("\r\n", "\n") == expected.replace("\r\n", "\n")
    plain = client.get("/api/v1/links/export", headers=viewer_headers).get_data(as_text=True)
    assert "summary" not in json.loads(plain.splitlines()[0])
    assert client.get("/api/v1/links/export").status_code == 401
    bad = client.get("/api/v1/links/export?format=xml", headers=viewer_headers)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"


def test_sqlite_export_imports_into_postgresql(tmp_path, postgres_url):
    lite = make_engine(f"sqlite:///{tmp_path / 'lite.db'}")
    pg = make_engine(postgres_url)
    try:
        upgrade(lite), upgrade(pg)
        wipe(pg)
        seed(lite)
        for fmt in ("csv", "jsonl"):
            path = tmp_path / f"from-sqlite.{fmt}"
            assert cli(url_of(lite), "export", "--with-summaries", str(path)).exit_code == 0
            result = cli(postgres_url, "import", str(path))
            assert result.exit_code == 0, result.output
            expected = cli(url_of(lite), "export", "--with-summaries").stdout
            assert cli(postgres_url, "export", "--with-summaries").stdout == expected
            wipe(pg)
    finally:
        wipe(pg)
        lite.dispose(), pg.dispose()


def test_each_refused_record_is_reported_with_its_line_and_the_rest_imported(db, tmp_path):
    seed(db)
    path = tmp_path / "mixed.jsonl"
    lines = [
        {"slug": "good1", "url": "https://example.org/1", "tags": ["x"]},
        {"slug": "evil", "url": "javascript:alert(1)"},
        "{not json",
        {"slug": "plain", "url": "https://example.org/other"},  # exists: skipped
        {"slug": "delay", "url": "https://example.org/2", "redirect_delay": 99},
        {"slug": "nosum", "url": "https://example.org/3", "summary": {"title": "No teaser"}},
        {"url": "https://example.org/no-slug"},
        {
            "slug": "good2",
            "url": "https://example.org/4",
            "rules": [],
            "colour": "red",
            "state": "active",
        },
    ]
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n",
        encoding="utf-8",
    )
    result = cli(url_of(db), "import", str(path))
    assert result.exit_code == 1
    err = result.stderr
    assert "line 2 (evil): failed: url:" in err
    assert "line 3: failed: not valid JSON" in err
    assert "line 4 (plain): skipped: a link with this slug exists" in err
    assert "line 5 (delay): failed: redirect_delay:" in err
    assert "line 6 (nosum): failed: summary.teaser:" in err
    assert "line 7: failed: slug: is required" in err
    assert "ignored: colour, state" in err
    assert "5 refused: line 2, line 3, line 5, line 6, line 7" in err
    assert "2 imported, 0 updated, 1 skipped, 5 failed" in result.stdout
    with db.connect() as conn:
        assert store.get_link_by_slug(conn, "good1").tags == ("x",)
        assert store.get_link_by_slug(conn, "evil") is None
        assert store.get_link_by_slug(conn, "nosum") is None  # link and summary, or nothing
        assert store.get_link_by_slug(conn, "plain").url == "https://example.org/plain"


def test_update_changes_existing_links_instead_of_skipping_them(db, tmp_path):
    seed(db)
    path = tmp_path / "changes.csv"
    path.write_text(
        "slug,url,title,tags,summary.title,summary.teaser\r\n"
        'plain,https://example.org/changed,New title,"[""a""]",Résumé,Court.\r\n',
        encoding="utf-8",
    )
    skipped = cli(url_of(db), "import", str(path))
    assert skipped.exit_code == 0 and "0 imported, 0 updated, 1 skipped" in skipped.stdout
    with db.connect() as conn:
        assert store.get_link_by_slug(conn, "plain").url == "https://example.org/plain"
    result = cli(url_of(db), "import", "--update", str(path))
    assert result.exit_code == 0 and "0 imported, 1 updated" in result.stdout
    with db.connect() as conn:
        link = store.get_link_by_slug(conn, "plain")
        assert (link.url, link.title, link.tags) == (
            "https://example.org/changed",
            "New title",
            ("a",),
        )
        assert summaries.get_summary(conn, link.id).title == "Résumé"


def test_a_file_that_cannot_be_read_stops_with_one_line(db, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    result = cli(url_of(db), "import", str(empty))
    assert result.exit_code == 3 and "empty" in result.output
    result = cli(url_of(db), "import", str(tmp_path / "missing.jsonl"))
    assert result.exit_code == 3 and "cannot read" in result.output
    odd = tmp_path / "links.txt"
    odd.write_text("{}", encoding="utf-8")
    result = cli(url_of(db), "import", str(odd))
    assert result.exit_code == 2 and "--format" in result.output


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0008_adds_imported_clicks_and_goes_back(backend, tmp_path, request):
    from alembic import command
    from sqlalchemy import inspect, text

    from balise.db.migrate import alembic_config
    from tests.databases import scratch_database

    drop = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
    else:
        url, drop = scratch_database(request.getfixturevalue("postgres_url"), "balise_m0008")
    engine = make_engine(url)
    try:
        upgrade(engine, "0007_rollups")
        with engine.begin() as conn:
            assert "imported_clicks" not in {c["name"] for c in inspect(conn).get_columns("links")}
            conn.execute(
                text(
                    "INSERT INTO links (slug, slug_key, url, url_key, reading_delay, disabled, "
                    "version, created_at, updated_at) VALUES ('old-link', 'old-link', "
                    "'https://example.org/old', 'k', false, false, 1, :now, :now)"
                ),
                {"now": datetime(2026, 1, 2, 3, 4, 5)},
            )
            conn.execute(
                text(
                    "INSERT INTO clicks (uid, link_id, ts, dnt) "
                    "SELECT 'u' || id, id, created_at, false FROM links"
                )
            )
        upgrade(engine)
        with engine.connect() as conn:
            assert store.get_link_by_slug(conn, "old-link").imported_clicks == 0
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0007_rollups")
        with engine.connect() as conn:
            assert "imported_clicks" not in {c["name"] for c in inspect(conn).get_columns("links")}
            assert conn.execute(text("SELECT slug FROM links")).scalar() == "old-link"
            # No batch copy of the links table: the clicks that refer to it are all still there.
            assert conn.execute(text("SELECT count(*) FROM clicks")).scalar() == 1
        upgrade(engine)
        with engine.connect() as conn:
            assert store.get_link_by_slug(conn, "old-link").imported_clicks == 0
    finally:
        engine.dispose()
        if drop:
            drop()


def test_export_is_not_a_slug_a_link_can_take(client, editor_headers):
    r = client.post(
        "/api/v1/links",
        json={"url": "https://example.org/x", "slug": "export"},
        headers=editor_headers,
    )
    assert r.status_code == 422 and "reserved" in r.get_data(as_text=True)


def test_an_import_update_shows_at_once_on_a_serving_instance(postgres_url, redis_url, tmp_path):
    """A serving instance that cached a link sees the import's change through Redis, long
    before its cache TTL (300 s) or its next read of the change feed (60 s here) would have it
    read again (tests/test_multi_instance.py: the same through the feed, without Redis)."""
    import secrets
    import time
    import urllib.request

    from tests.databases import scratch_database
    from tests.live_server import LiveServer

    url, drop = scratch_database(postgres_url, "balise_import_live")
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        store.create_link(
            conn, {"url": "https://example.org/old", "slug": "moved"}, base_url=BASE_URL
        )
    server = LiveServer(
        tmp_path / "live",
        url,
        REDIS_URL=redis_url,
        CACHE_TTL=300,
        CACHE_POLL=60,
        SECRET_KEY=secrets.token_hex(24),
    )

    def page() -> str:
        request = urllib.request.Request(
            server.base_url + "/moved", headers={"User-Agent": "Twitterbot/1.0"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - 127.0.0.1
            return answer.read().decode()

    try:
        assert "example.org/old" in page()  # now cached
        path = tmp_path / "moved.jsonl"
        path.write_text(json.dumps({"slug": "moved", "url": "https://example.org/new"}) + "\n")
        env = {
            "BALISE_DATABASE_URL": url,
            "BALISE_BASE_URL": BASE_URL,
            "BALISE_REDIS_URL": redis_url,
        }
        result = CliRunner().invoke(main, ["import", "--update", str(path)], env=env)
        assert result.exit_code == 0, result.output
        deadline = time.monotonic() + 3
        while "example.org/new" not in page() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "example.org/new" in page()
    finally:
        assert server.stop() == 0
        engine.dispose()
        drop()


def test_a_slug_twice_in_one_file_is_imported_once(db, tmp_path):
    path = tmp_path / "twice.jsonl"
    rows = [
        {"slug": "twice", "url": "https://example.org/first"},
        {"slug": "TWICE", "url": "https://example.org/second"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = cli(url_of(db), "import", str(path))
    assert result.exit_code == 0 and "line 2 (TWICE): skipped" in result.stderr
    result = cli(url_of(db), "import", "--update", str(path))
    assert result.exit_code == 0 and "0 imported, 2 updated" in result.stdout
    with db.connect() as conn:
        assert store.get_link_by_slug(conn, "twice").url == "https://example.org/second"


def test_an_export_that_cannot_be_written_says_so_in_one_line(db, tmp_path):
    result = cli(url_of(db), "export", str(tmp_path / "no" / "such" / "dir.csv"))
    assert result.exit_code == 1 and "cannot write" in result.output
    assert "Traceback" not in result.output
