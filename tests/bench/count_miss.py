"""Instructions a slug-cache miss costs the serving path, counted by callgrind.

Rates and CPU times move with the machine's load; instruction counts do not. This runs, under
`valgrind --tool=callgrind`, the lean path's WSGI callable (fastpath.ReaderPath) on the
reader benchmark's links (tests/bench/readerdata.py, `--sqlite-file` as bench_miss.py makes
it) twice: `--base` misses, then `--base + --misses`, each in a process of its own, the click
recorder a no-op so that only the serving path counts (the click store's work is
bench_batch.py's). The difference over `--misses` is one miss: the read, the Link, Summary and
Card, the page rendered and served, the cache's bookkeeping. Also printed: the share of those
instructions by part of the process (the interpreter, the C library, regular expressions,
SQLite).

    .venv/bin/python tests/bench/count_miss.py --sqlite-file F [--base 200] [--misses 1000]
"""

from __future__ import annotations

import argparse
import collections
import gc
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARTS = (
    ("SQLite", ("libsqlite3",)),
    ("regular expressions", ("_sre",)),
    ("the interpreter's loop", ("ceval.c", "pycore_frame.h", "frame.c")),
    ("the rest of the interpreter", ("Python-3", "Objects/", "Python/", "Modules/")),
    ("the C library", ("libc.so", "nptl", "sysdeps", "malloc")),
)


def serve_misses(sqlite_file: str, count: int) -> None:
    """In this process: the cache full of other links, then `count` misses."""
    sys.path.insert(0, str(ROOT))
    from tests.bench import bench_miss, readerdata

    from balise import create_app
    from balise.web.reader import track

    track.Tracker.record = lambda self, hit: None  # type: ignore[method-assign]
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{Path(sqlite_file).resolve()}",
            "DATA_DIR": tempfile.mkdtemp(prefix="balise-count-"),
            "BASE_URL": "http://127.0.0.1:8080",
            "FETCH_METADATA": "0",
            "CACHE_SIZE": "500",
            "CACHE_TTL": "3600",
            "CACHE_POLL": "60",
            "RATELIMIT_NOT_FOUND": "1000000/minute",
        }
    )
    balise = app.extensions["balise"]
    links = readerdata.seeded(balise.engine)
    slugs = [readerdata.slug(i) for i in random.Random(5).sample(range(1, links + 1), 700 + count)]
    try:
        for slug in slugs[:500]:  # held, each asked three times
            for _ in range(3):
                bench_miss.request(app.wsgi_app, slug)
        for slug in slugs[500:700]:  # the miss path's first runs: lazy imports, skeletons
            bench_miss.request(app.wsgi_app, slug)
        gc.collect()
        gc.freeze()
        for slug in slugs[700:]:
            bench_miss.request(app.wsgi_app, slug)
    finally:
        balise.shutdown()


def counted(sqlite_file: str, count: int, out: Path) -> dict[str, int]:
    """Callgrind's instructions by function for a process serving `count` misses."""
    subprocess.run(  # noqa: S603 - valgrind on our own interpreter and script
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
         __file__, "--sqlite-file", sqlite_file, "--serve", str(count)],
        check=True, capture_output=True,
    )  # fmt: skip
    listing = subprocess.run(  # noqa: S603
        ["callgrind_annotate", "--inclusive=no", "--threshold=100", str(out)],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found: dict[str, int] = {}
    for line in listing.splitlines():
        match = re.match(r"\s*([\d,]+)\s+\(.*?\)\s+(.*)", line)
        if match:
            found[match.group(2).strip()] = int(match.group(1).replace(",", ""))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite-file", required=True, help="bench_miss.py's links")
    parser.add_argument("--base", type=int, default=200)
    parser.add_argument("--misses", type=int, default=1000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the measured process
    args = parser.parse_args()
    if args.serve is not None:
        serve_misses(args.sqlite_file, args.serve)
        return
    workdir = Path(tempfile.mkdtemp(prefix="balise-callgrind-"))
    small = counted(args.sqlite_file, args.base, workdir / "small.out")
    large = counted(args.sqlite_file, args.base + args.misses, workdir / "large.out")
    total = (large.pop("PROGRAM TOTALS") - small.pop("PROGRAM TOTALS")) / args.misses
    shares: collections.Counter[str] = collections.Counter()
    for name in set(small) | set(large):
        part = next((p for p, marks in PARTS if any(m in name for m in marks)), "other")
        shares[part] += (large.get(name, 0) - small.get(name, 0)) / args.misses
    print(f"instructions a miss: {total:,.0f}")
    listed = sum(shares.values())
    for part, value in shares.most_common():
        print(f"  {part:<30} {value / listed:6.1%}")


if __name__ == "__main__":
    main()
