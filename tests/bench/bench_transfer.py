"""Benchmark: `balise export` and `balise import` of 5,000 links, each with two tags and
half with a summary, on SQLite and, given --postgres URL, on PostgreSQL (scratch databases
created there and dropped). Prints links per second for each format.

    .venv/bin/python tests/bench/bench_transfer.py [--postgres postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a file or with -m
from tests.databases import scratch_database  # noqa: E402

from balise.cli import main
from balise.db import make_engine, upgrade
from balise.links import store
from balise.summaries import store as summaries

BASE_URL = "https://s.test"
LINKS = 5_000


def populate(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        for i in range(LINKS):
            link = store.create_link(
                conn,
                {
                    "url": f"https://example.org/a/{i}",
                    "slug": f"bench{i}",
                    "tags": ["a", f"t{i % 7}"],
                },
                base_url=BASE_URL,
            )
            if i % 2 == 0:
                summaries.save_summary(conn, link, {"title": f"T {i}", "teaser": "A teaser."})
    engine.dispose()


def timed(what: str, run: Callable[..., object]) -> None:
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    print(f"  {what:<28} {seconds:6.2f} s  {LINKS / seconds:8.0f} links/s")


def cli(url: str, *args: str) -> None:
    env = {"BALISE_DATABASE_URL": url, "BALISE_BASE_URL": BASE_URL}
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.output


def bench(name: str, source: str, empty: Callable[[], str], folder: Path) -> None:
    print(f"{name}: {LINKS} links")
    populate(source)
    for fmt in ("jsonl", "csv"):
        path = str(folder / f"{name}.{fmt}")
        timed(f"export {fmt}", lambda p=path: cli(source, "export", "--with-summaries", p))
        target = empty()
        timed(f"import {fmt} (empty server)", lambda p=path, t=target: cli(t, "import", p))
        timed(f"import {fmt} (all skipped)", lambda p=path, t=target: cli(t, "import", p))


def main_() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        counter = iter(range(100))

        def empty_sqlite() -> str:
            url = f"sqlite:///{folder / f'empty{next(counter)}.db'}"
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            return url

        bench("sqlite", f"sqlite:///{folder / 'source.db'}", empty_sqlite, folder)
        if args.postgres:
            drops = []
            source, drop = scratch_database(args.postgres, "balise_bench_transfer")
            drops.append(drop)

            def empty_pg() -> str:
                url, drop = scratch_database(args.postgres, f"balise_bench_t{next(counter)}")
                drops.append(drop)
                engine = make_engine(url)
                upgrade(engine)
                engine.dispose()
                return url

            try:
                bench("postgresql", source, empty_pg, folder)
            finally:
                for drop in drops:
                    drop()


if __name__ == "__main__":
    main_()
