"""What a slug-cache miss costs on the reader path against a hit, in process, and what an entry
of the slug cache holds in memory.

Builds the app on a SQLite file of N links (tests/bench/readerdata.py: the reader benchmark's
links, 30 % with a summary; `--sqlite-file` keeps it for later runs, bench_reader.py takes
the same file), then times with time.thread_time (the CPU of the calling thread only: the
click writer and the cache's refresher run on their own) calls of the lean path's WSGI
callable (fastpath.ReaderPath), the app frozen out of the collector's passes once warm as
`balise serve` does, for:

- hits: `--hot` slugs already in the cache;
- misses: slugs never asked before, with the cache full of the hot ones, so that each is
  read, rendered, served and, as most misses at a million links, not admitted (admission.py);
- misses again: the same slugs a second time (a link asked twice in a while, not admitted);

then the parts of a miss on their own, over other new slugs (the 404-budget test, the read and
row mapping, the Link/Summary/Card construction, the page's render), and a cProfile of the
misses (`--profile N`: the N costliest functions by own time). Last, tracemalloc's count of
the bytes an entry adds to the cache (admitted, page rendered in one language; what the
reading thread allocates, not the click writer's work), for links with and without a
summary. The last line is one JSON object with every figure.

    .venv/bin/python tests/bench/bench_miss.py [--links 1000000] [--sqlite-file F]
        [--hot 2000] [--misses 4000] [--entries 1000] [--profile 25]

CPU times move with the machine's load less than throughput does, but they still move: compare
figures of one run, or runs one after the other.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import readerdata  # noqa: E402

from balise import create_app  # noqa: E402
from balise.db import make_engine, upgrade  # noqa: E402

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def environ(slug: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/{slug}",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_USER_AGENT": BROWSER_UA,
        "HTTP_ACCEPT": "text/html",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }


def request(wsgi: Callable[..., Iterable[bytes]], slug: str) -> str:
    status: list[str] = []
    body = b"".join(wsgi(environ(slug), lambda s, h, e=None: status.append(s)))
    if not status[0].startswith("200") or not body:
        raise SystemExit(f"/{slug}: {status[0]}")
    return status[0]


def per_call_us(action: Callable[[str], Any], slugs: list[str], parts: int = 4) -> float:
    """CPU microseconds of the calling thread per call of `action`: the mean over the best of
    `parts` runs over a share of `slugs` each (the others are slowed by whatever else the
    machine does)."""
    size = max(1, len(slugs) // parts)
    best = float("inf")
    for start in range(0, len(slugs), size):
        chunk = slugs[start : start + size]
        started = time.thread_time()
        for slug in chunk:
            action(slug)
        best = min(best, (time.thread_time() - started) / len(chunk))
    return best * 1e6


def entry_bytes(app: Any, reader: Any, slugs: list[str]) -> float:
    """Bytes an entry adds to the cache, read and its page rendered in one language, per entry
    (served without the request: the click buffer is not weighed)."""
    gc.collect()
    # Only what this thread allocates here (not the click writer's or the change feed's).
    here = [tracemalloc.Filter(True, __file__, all_frames=True)]
    tracemalloc.start(100)
    before = tracemalloc.take_snapshot().filter_traces(here)
    for slug in slugs:
        entry = reader.entry(slug)
        entry.page(app, entry.lang or "en")
    gc.collect()
    after = tracemalloc.take_snapshot().filter_traces(here)
    tracemalloc.stop()
    held = sum(1 for slug in slugs if reader.cache.peek(slug) is not None)
    if held != len(slugs):
        raise SystemExit(f"only {held} of {len(slugs)} entries admitted")
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return grown / len(slugs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--summaries", type=float, default=0.3)
    parser.add_argument("--sqlite-file", help="keep the database here; reused when it holds them")
    parser.add_argument("--hot", type=int, default=2_000, help="hits: slugs held in the cache")
    parser.add_argument("--misses", type=int, default=4_000)
    parser.add_argument("--entries", type=int, default=1_000, help="entries weighed, per kind")
    parser.add_argument("--profile", type=int, default=25, help="functions shown; 0: none")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="balise-miss-"))
    path = Path(args.sqlite_file).resolve() if args.sqlite_file else workdir / "balise.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    if readerdata.seeded(engine) != args.links:
        started = time.monotonic()
        readerdata.seed(engine, args.links, args.summaries, 0.0)
        print(f"{args.links} links written in {time.monotonic() - started:.0f} s", flush=True)
    engine.dispose()

    draw = random.Random(15).sample(
        range(1, args.links + 1), args.hot + 3 * args.misses + 8 * args.entries
    )
    hot = [readerdata.slug(i) for i in draw[: args.hot]]
    cold = [readerdata.slug(i) for i in draw[args.hot : args.hot + args.misses]]
    spare = draw[args.hot + args.misses :]
    settings = {
        "DATABASE_URL": url,
        "DATA_DIR": str(workdir / "instance"),
        "BASE_URL": "http://127.0.0.1:8080",
        "FETCH_METADATA": "0",
        "CACHE_SIZE": str(args.hot),
        "CACHE_TTL": "3600",
        "RATELIMIT_NOT_FOUND": "1000000/minute",
    }
    app = create_app(settings)
    balise = app.extensions["balise"]
    reader = balise.services["reader"]
    wsgi = app.wsgi_app
    try:
        for slug in hot:  # the cache full of them, each asked a few times
            for _ in range(3):
                request(wsgi, slug)
        gc.collect()
        gc.freeze()  # as `balise serve` does once started (cli/server.py)
        figures: dict[str, Any] = {"links": args.links, "hot": args.hot, "misses": args.misses}
        hits = per_call_us(lambda s: request(wsgi, s), hot * 2, parts=8)
        rejected = reader.cache.rejected
        miss = per_call_us(lambda s: request(wsgi, s), cold)
        figures["not_admitted"] = reader.cache.rejected - rejected
        again = per_call_us(lambda s: request(wsgi, s), cold)
        figures |= {"hit_us": hits, "miss_us": miss, "miss_again_us": again}

        # The parts of a miss, on their own, over fresh slugs.
        from balise.web.reader import page

        parts_slugs = [readerdata.slug(i) for i in spare[: args.misses]]
        env = environ(parts_slugs[0])
        figures["may_read_us"] = per_call_us(lambda s: reader.may_read(env), parts_slugs)
        reads = reader._reads  # noqa: SLF001
        figures["read_row_us"] = per_call_us(reads.entry_row, parts_slugs)
        figures["load_entry_us"] = per_call_us(
            lambda s: page.load_entry(app, s, reads), parts_slugs
        )
        figures["render_us"] = _render_us(
            app, [page.load_entry(app, s, reads) for s in parts_slugs]
        )
        figures["mapping_us"] = figures["load_entry_us"] - figures["read_row_us"]
        # The rest of a miss: cache bookkeeping (single flight, admission), second look-ups.
        figures["rest_us"] = miss - hits - figures["may_read_us"]
        figures["rest_us"] -= figures["load_entry_us"] + figures["render_us"]

        if args.profile:
            profile_slugs = [readerdata.slug(i) for i in spare[args.misses : 2 * args.misses]]
            profiler = cProfile.Profile(time.thread_time)
            profiler.enable()
            for slug in profile_slugs:
                request(wsgi, slug)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
            print(out.getvalue())
    finally:
        balise.shutdown()

    # Bytes per entry: a cache large enough to admit every entry weighed.
    weighed = draw[args.hot + 3 * args.misses :]
    with_summary = [
        readerdata.slug(i) for i in weighed if readerdata.has_summary(i, args.summaries)
    ][: args.entries]
    plain = [readerdata.slug(i) for i in weighed if not readerdata.has_summary(i, args.summaries)][
        : args.entries
    ]
    app = create_app(settings | {"CACHE_SIZE": str(4 * args.entries)})
    balise = app.extensions["balise"]
    try:
        reader = balise.services["reader"]
        for slug in hot[:200]:  # lazy imports, Jinja's templates, skeletons, first renders
            request(app.wsgi_app, slug)
        figures["bytes_summary"] = entry_bytes(app, reader, with_summary)
        figures["bytes_plain"] = entry_bytes(app, reader, plain)
    finally:
        balise.shutdown()
    share = args.summaries
    figures["bytes_mix"] = share * figures["bytes_summary"] + (1 - share) * figures["bytes_plain"]
    for name, value in figures.items():
        if isinstance(value, float):
            unit = "bytes" if name.startswith("bytes") else "us of CPU"
            print(f"{name:>16}: {value:9.1f} {unit}")
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}))


def _render_us(app: Any, entries: list[Any]) -> float:
    from balise.web.reader import page

    it = iter(entries)

    def render(_: str) -> None:
        entry = next(it)
        page.render(app, entry, entry.lang or "en", entry.static_target)

    return per_call_us(render, [""] * len(entries))


if __name__ == "__main__":
    main()
