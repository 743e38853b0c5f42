"""Benchmark: what link controls cost the lean reader path, in process.

Times the whole WSGI call of GET /<slug> (the lean path: the slug cache, the target choice,
the page for that target, the click put in the buffer) for a link without controls, one with
UTM values, and one with 20 rules (the last one matching) and a forwarded query, alternating
rounds so the machine's load touches each alike. Prints microseconds per request (median of
rounds) and each kind's ratio to the plain link.

    .venv/bin/python tests/bench/bench_controls.py [--requests 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a file or with -m

from balise import create_app  # noqa: E402
from balise.db import make_engine, upgrade  # noqa: E402
from balise.links import store  # noqa: E402

UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
RULES = [{"url": f"https://r{i}.example/", "lang": "de"} for i in range(19)]
RULES.append({"url": "https://desk.example/", "device": "desktop", "query": {"src": "qr"}})
KINDS: dict[str, dict[str, Any]] = {
    "plain": {},
    "utm": {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring"},
    "rules+forward": {"rules": RULES, "forward_query": True, "utm_source": "newsletter"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        with engine.begin() as conn:
            for slug, fields in KINDS.items():
                values = {"url": "https://example.org/a?id=1", "slug": slug.replace("+", "-")}
                store.create_link(conn, values | fields, base_url="https://s.test")
        engine.dispose()
        app = create_app(
            {"DATA_DIR": tmp, "DATABASE_URL": url, "BASE_URL": "https://s.test", "CACHE_TTL": 60}
        )
        try:
            report(app, args)
        finally:
            app.extensions["balise"].shutdown()


def call(app: Any, slug: str, query: str) -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/{slug}",
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "REMOTE_ADDR": "192.0.2.1",
        "HTTP_USER_AGENT": UA,
        "HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }
    statuses = []
    body = app.wsgi_app(environ, lambda status, headers: statuses.append(status))
    b"".join(body)
    assert statuses == ["200 OK"], statuses


def report(app: Any, args: argparse.Namespace) -> None:
    timings: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for kind in KINDS:  # warm: cached entry, rendered page
        for _ in range(3):
            call(app, kind.replace("+", "-"), "src=qr")
    for round_ in range(args.rounds):
        order = list(KINDS) if round_ % 2 == 0 else list(reversed(KINDS))  # no kind always first
        for kind in order:
            slug = kind.replace("+", "-")
            start = time.perf_counter()
            for _ in range(args.requests):
                call(app, slug, "src=qr")
            timings[kind].append((time.perf_counter() - start) / args.requests * 1e6)
    plain = statistics.median(timings["plain"])
    print(f"{'link':<16}{'us/request':>12}{'vs plain':>10}")
    for kind, values in timings.items():
        median = statistics.median(values)
        print(f"{kind:<16}{median:>12.1f}{median / plain:>10.2f}")


if __name__ == "__main__":
    main()
