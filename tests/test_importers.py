"""`balise import kutt|shlink|yourls|bitly` against stubs of each peer's REST API on 127.0.0.1
(tests/peer_stubs.py): paging, progress, refused targets, peer errors, rate limits, restarts."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from balise.db.tables import links as links_table
from balise.links import store
from tests.peer_stubs import KEY, PeerStub, sample_links

PEERS = ["kutt", "shlink", "yourls", "bitly"]
# Items per page each importer asks for (YOURLS pages are larger).
PAGE = {"kutt": 50, "shlink": 50, "yourls": 100, "bitly": 50}


def run(runner: Any, peer: str, stub: PeerStub, tmp_path: Any, *extra: str) -> Any:
    return runner(
        "import",
        peer,
        "--url",
        stub.url,
        "--api-key",
        KEY,
        "--state",
        str(tmp_path / "state.json"),
        *extra,
    )


def count_links(db: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(links_table)).scalar_one())


@pytest.mark.parametrize("peer", PEERS)
def test_every_page_is_imported_with_slugs_targets_and_what_the_peer_gives(
    peer, runner, db, tmp_path
):
    total = PAGE[peer] * 2 + 7  # three pages
    with PeerStub(peer, sample_links(total, bad=5)) as stub:
        result = run(runner, peer, stub, tmp_path)
    assert result.exit_code == 1, result.output  # the javascript: target was refused
    progress = [line for line in result.stderr.splitlines() if line.startswith(f"{peer} page")]
    assert len(progress) == 3
    assert f"({total} of {total} read so far)" in progress[-1]
    assert "(peer005): failed: url:" in result.stderr
    assert f"{total - 1} imported, 0 updated, 0 skipped, 1 failed" in result.stdout
    assert count_links(db) == total - 1
    with db.connect() as conn:
        link = store.get_link_by_slug(conn, "peer007")
    assert link.url == "https://example.org/article/7"
    assert link.title == "Article 7"
    assert link.created_at == datetime(2024, 5, 1, 12, 0, 7, tzinfo=timezone.utc)
    # Kutt and YOURLS have no tags; Bitly's list carries no click counts.
    assert link.tags == (() if peer in ("kutt", "yourls") else ("imported", "t1"))
    assert link.imported_clicks == (0 if peer == "bitly" else 70)
    assert not (tmp_path / "state.json").exists()  # done: nothing to continue


@pytest.mark.parametrize("peer", PEERS)
def test_a_run_that_stopped_continues_where_it_stopped_without_duplicates(
    peer, runner, db, tmp_path
):
    total = PAGE[peer] * 2 + 3
    with PeerStub(peer, sample_links(total)) as stub:
        first_list = 2 if peer == "bitly" else 1  # Bitly asks /v4/user first
        stub.script[first_list + 1] = (200, {}, b"<html>maintenance</html>")
        stopped = run(runner, peer, stub, tmp_path)
        assert stopped.exit_code == 3
        assert "not JSON" in stopped.stderr and "state kept in" in stopped.stderr
        assert "Traceback" not in stopped.output
        assert count_links(db) == PAGE[peer]  # page 1 committed, nothing of page 2
        saved = json.loads((tmp_path / "state.json").read_text())
        assert saved["peer"] == peer and saved["cursor"]

        asked = len(stub.requests)
        resumed = run(runner, peer, stub, tmp_path)
        assert resumed.exit_code == 0, resumed.output
        assert "continuing where the last run stopped" in resumed.stderr
        assert f"{total - PAGE[peer]} imported, 0 updated, 0 skipped, 0 failed" in resumed.stdout
        later = stub.requests[asked:]
    assert count_links(db) == total
    first_page = {"kutt": ("skip", "0"), "shlink": ("page", "1"), "yourls": ("start", "0")}
    if peer in first_page:
        name, value = first_page[peer]
        assert all(query.get(name) != value for _path, query in later)  # page 1 not read again
    else:
        assert all("search_after" in query for path, query in later if "bitlinks" in path)


@pytest.mark.parametrize("peer", PEERS)
def test_a_rerun_skips_what_exists(peer, runner, db, tmp_path):
    with PeerStub(peer, sample_links(12)) as stub:
        assert run(runner, peer, stub, tmp_path).exit_code == 0
        again = run(runner, peer, stub, tmp_path)
    assert again.exit_code == 0
    assert "0 imported, 0 updated, 12 skipped, 0 failed" in again.stdout
    assert count_links(db) == 12


@pytest.mark.parametrize("peer", PEERS)
def test_a_refused_key_is_one_line_and_exit_3(peer, runner, db, tmp_path):
    with PeerStub(peer, sample_links(3)) as stub:
        result = runner(
            "import",
            peer,
            "--url",
            stub.url,
            "--api-key",
            "wrong",
            "--state",
            str(tmp_path / "s.json"),
        )
    assert result.exit_code == 3
    assert f"{peer}: the API key was refused" in result.stderr
    assert "Traceback" not in result.output
    assert count_links(db) == 0


def test_rate_limits_are_waited_for_as_retry_after_says(runner, db, tmp_path):
    with PeerStub("shlink", sample_links(60)) as stub:
        stub.script[2] = (429, {"Retry-After": "1"}, b'{"title": "Too many requests"}')
        stub.script[3] = (503, {}, b'{"title": "Service unavailable"}')
        result = run(runner, "shlink", stub, tmp_path)
        assert result.exit_code == 0, result.output
        pages = [query["page"] for _path, query in stub.requests]
    assert pages == ["1", "2", "2", "2"]  # page 2 asked again after the 429 and the 503
    assert count_links(db) == 60


def test_a_peer_that_keeps_failing_stops_the_import_with_one_line(runner, db, tmp_path):
    with PeerStub("kutt", sample_links(60)) as stub:
        for n in range(2, 10):
            stub.script[n] = (502, {}, b"<html>Bad gateway</html>")
        result = run(runner, "kutt", stub, tmp_path)
    assert result.exit_code == 3
    assert "kutt: the server failed 4 times (502)" in result.stderr
    assert "continues where it stopped" in result.stderr
    assert count_links(db) == 50


def test_a_long_retry_after_stops_rather_than_waits(runner, db, tmp_path):
    with PeerStub("kutt", sample_links(3)) as stub:
        stub.script[1] = (429, {"Retry-After": "3600"}, b"{}")
        result = run(runner, "kutt", stub, tmp_path)
    assert result.exit_code == 3 and "rate limited" in result.stderr
    assert "wait 3600 s" in result.stderr


def test_a_wrong_address_says_so(runner, db, tmp_path):
    with PeerStub("shlink", []) as stub:
        result = runner(
            "import",
            "shlink",
            "--url",
            stub.url + "/nothing",
            "--api-key",
            KEY,
            "--state",
            str(tmp_path / "s.json"),
        )
    assert result.exit_code == 3 and "answered 404: is --url the address" in result.stderr
    unreachable = runner(
        "import",
        "kutt",
        "--url",
        "http://127.0.0.1:9",
        "--api-key",
        KEY,
        "--state",
        str(tmp_path / "s.json"),
    )
    assert unreachable.exit_code == 3 and "cannot reach http://127.0.0.1:9" in unreachable.stderr
    usage = runner("import", "shlink", "--api-key", KEY)
    assert usage.exit_code == 2 and "--url" in usage.output


def test_imported_clicks_are_shown_apart_from_counted_clicks(
    runner, db, tmp_path, client, viewer_headers
):
    with PeerStub("shlink", sample_links(3)) as stub:
        assert run(runner, "shlink", stub, tmp_path).exit_code == 0
    link = client.get("/api/v1/links/peer002", headers=viewer_headers).get_json()
    assert link["imported_clicks"] == 20
    stats = client.get("/api/v1/links/peer002/stats", headers=viewer_headers).get_json()
    assert stats["imported_clicks"] == 20 and stats["totals"]["clicks"] == 0
    every = client.get("/api/v1/stats", headers=viewer_headers).get_json()
    assert every["imported_clicks"] == 30
    tagged = client.get("/api/v1/stats?tag=t1", headers=viewer_headers).get_json()
    assert tagged["imported_clicks"] == 10  # peer001 alone holds t1
    filtered = client.get("/api/v1/stats?country=FR", headers=viewer_headers).get_json()
    assert filtered["imported_clicks"] is None
    cli = runner("stats", "peer002")
    assert "imported clicks  20" in cli.stdout


@pytest.mark.parametrize(
    ("lang", "shown"), [("fr", "Clics importés : 20"), ("en", "Imported clicks: 20")]
)
def test_the_dashboard_link_statistics_show_imported_clicks_apart(
    lang, shown, runner, db, tmp_path, dashboard, make_user, make_link
):
    with PeerStub("kutt", sample_links(3)) as stub:
        assert run(runner, "kutt", stub, tmp_path).exit_code == 0
    make_link(slug="native")
    make_user("reader@example.org", "viewer", lang=lang)
    assert dashboard.login("reader@example.org").status_code == 302
    page = dashboard.get("/dashboard/links/peer002/stats").get_data(as_text=True)
    assert shown in page and 'id="imported-clicks"' in page
    other = dashboard.get("/dashboard/links/native/stats").get_data(as_text=True)
    assert 'id="imported-clicks"' not in other  # nothing imported: nothing said


def test_a_yourls_that_ignores_start_stops_rather_than_miss_links(runner, db, tmp_path):
    with PeerStub("yourls", sample_links(150)) as stub:
        answer = stub.answer

        def ignoring_start(path, query, headers):
            return answer(path, {**query, "start": "0"}, headers)

        stub.answer = ignoring_start  # type: ignore[method-assign]
        result = run(runner, "yourls", stub, tmp_path)
    assert result.exit_code == 3 and "ignores `start`" in result.stderr
    assert count_links(db) == 100


@pytest.mark.parametrize("peer", PEERS)
def test_a_peer_without_links_imports_nothing_and_says_so(peer, runner, db, tmp_path):
    with PeerStub(peer, []) as stub:
        result = run(runner, peer, stub, tmp_path)
    assert result.exit_code == 0, result.output
    assert "0 imported, 0 updated, 0 skipped, 0 failed" in result.stdout
    assert not (tmp_path / "state.json").exists()


@pytest.mark.parametrize("peer", PEERS)
def test_a_last_page_that_is_full_ends_the_import(peer, runner, db, tmp_path):
    total = PAGE[peer] * 2
    with PeerStub(peer, sample_links(total)) as stub:
        result = run(runner, peer, stub, tmp_path)
        asked = [query for path, query in stub.requests if path != "/v4/user"]
    assert result.exit_code == 0, result.output
    assert f"{total} imported, 0 updated, 0 skipped, 0 failed" in result.stdout
    assert count_links(db) == total
    # Two pages, and at most one more to learn that nothing follows (YOURLS says no total).
    assert len(asked) == (3 if peer == "yourls" else 2)
    assert not (tmp_path / "state.json").exists()


def test_an_empty_page_ends_the_import_whatever_the_peer_says_it_holds(runner, db, tmp_path):
    with PeerStub("kutt", sample_links(120)) as stub:
        answer = stub.answer

        def short_of_links(path, query, headers):
            status, sent, body = answer(path, query, headers)
            if int(query.get("skip", 0)) >= 50:  # says 120 links, sends none past the first 50
                page = json.loads(body)
                body = json.dumps(page | {"data": []}).encode()
            return status, sent, body

        stub.answer = short_of_links  # type: ignore[method-assign]
        result = run(runner, "kutt", stub, tmp_path)
        asked = len(stub.requests)
    assert result.exit_code == 0, result.output
    assert "50 imported, 0 updated, 0 skipped, 0 failed" in result.stdout
    assert "kutt page 2: 0 read" in result.stderr and "(50 of 120 read so far)" in result.stderr
    assert asked == 2
    assert not (tmp_path / "state.json").exists()


def test_a_peer_that_names_the_same_next_page_again_stops_with_one_line(runner, db, tmp_path):
    with PeerStub("bitly", sample_links(120)) as stub:
        answer = stub.answer

        def stuck(path, query, headers):
            first = {name: value for name, value in query.items() if name != "search_after"}
            status, sent, body = answer(path, first, headers)
            page = json.loads(body)
            if "pagination" in page:  # every page says the next one starts after the 50th
                page["pagination"]["search_after"] = "after-50"
            return status, sent, json.dumps(page).encode()

        stub.answer = stuck  # type: ignore[method-assign]
        result = run(runner, "bitly", stub, tmp_path)
        asked = [query for path, query in stub.requests if "bitlinks" in path]
    assert result.exit_code == 3
    assert "bitly: page 2 names itself as the next page ('after-50')" in result.stderr
    assert "Traceback" not in result.output
    assert len(asked) == 2  # not read forever
    assert count_links(db) == 50  # page 1 kept; the state file says where to continue
    assert json.loads((tmp_path / "state.json").read_text())["cursor"] == "after-50"
