"""Benchmark: creating 1,000 links in one bulk request against 1,000 single creates.

In process (the whole WSGI request: auth, validation, chunked transactions, link.created
events for one subscribed webhook endpoint), on SQLite and, given --postgres URL, on PostgreSQL
(a scratch database is created there and dropped after). Both ways run in the same process one
after the other, so compare the ratio, not the absolute figures, on a shared machine.

    .venv/bin/python tests/bench/bench_bulk.py [--postgres postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a file or with -m
from tests.databases import scratch_database  # noqa: E402

from balise import create_app
from balise.accounts import keys
from balise.db import make_engine, upgrade
from balise.integrations import webhooks

ITEMS = 1000


def run(url: str, data_dir: str) -> tuple[float, float]:
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        _key, secret = keys.create_key(conn, "bench", "editor")
        webhooks.create_endpoint(
            conn, {"url": "http://127.0.0.1:9/hook", "events": ["link.created"]}, allow_private=True
        )
    engine.dispose()
    app = create_app(
        {
            "DATABASE_URL": url,
            "DATA_DIR": data_dir,
            "BASE_URL": "https://s.test",
            "FETCH_METADATA": "0",
            "RATELIMIT_CREATE": "100000/minute",
        }
    )
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    started = time.perf_counter()
    for i in range(ITEMS):
        body = {"url": f"https://example.org/single/{i}", "tags": ["bench"]}
        assert client.post("/api/v1/links", json=body, headers=headers).status_code == 201
    single = time.perf_counter() - started
    items = [{"url": f"https://example.org/bulk/{i}", "tags": ["bench"]} for i in range(ITEMS)]
    started = time.perf_counter()
    r = client.post("/api/v1/links/bulk", json={"links": items}, headers=headers)
    many = time.perf_counter() - started
    assert [x["status"] for x in r.get_json()["results"]] == [201] * ITEMS
    app.extensions["balise"].shutdown()
    return single, many


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server for a scratch db")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("SQLite", f"sqlite:///{tmp}/bench.db", None)]
        if args.postgres:
            url, drop = scratch_database(args.postgres, "balise_bench_bulk")
            targets.append(("PostgreSQL", url, drop))
        for name, url, drop in targets:
            try:
                single, many = run(url, f"{tmp}/{name}")
            finally:
                if drop is not None:
                    drop()
            print(
                f"{name}: {ITEMS} single creates {single * 1000:,.0f} ms, one bulk of {ITEMS} "
                f"{many * 1000:,.0f} ms ({single / many:.1f}x faster)"
            )


if __name__ == "__main__":
    main()
