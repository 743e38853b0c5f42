"""Reader-path benchmark: Balise against the limit of serving its page.

Writes N links straight into a scratch database (30 % with summaries), starts on 127.0.0.1 a
real `balise serve` on it, then the baselines, one after the other and all under waitress
with the same settings: "same bytes" (a bare WSGI app sending a byte-identical copy of a
reader page Balise served, with the same headers: the limit of serving that page), "same
bytes, a read a miss" (the same app with a cache of BALISE_CACHE_SIZE links, least recently
used out, which first reads a link it does not hold with Balise's own query: the limit of
serving that page when the links outnumber the cache; SQLite only), a minimal Flask route
answering a redirect, and a bare WSGI 302. wrk requests the links in turn, or
drawn from a Zipf distribution (s = 1.1 by default beyond 10,000 links), with a desktop
browser's user agent. Prints requests/s, p50/p99 latency, Balise's ratios to the baselines,
its slug-cache hit ratio over the measured run, the share of its requests answered on its loop
thread (`loop_share`, cli/dispatch.py), and the clicks stored against the clicks it
says it served (they must be equal); the last line is one JSON object with the figures.
Beside each rate, the CPU per request of the server, of its click store process, of
PostgreSQL's server (with `--postgres`) and of wrk itself, and how busy each CPU was: they
share the CPUs the server is not pinned to, so when those are full, they bound the rate
rather than the server.

Balise's measured run follows a short warm-up (`--warmup`): with more links than its slug
cache holds, it is a server just started, its cache still cold. `--steady S` measures it
again in its steady state: wrk goes on requesting the same Zipf stream (new random draws,
same shape) for S seconds more, then a second run of `--duration` is measured; both are
printed, the steady one as `steady_*` figures (`steady_cache_hit_ratio` too).

    .venv/bin/python tests/bench/bench_reader.py [--duration 15] [--connections 32]
        [--links 1000] [--zipf S] [--cache-size N] [--controls FRACTION] [--steady S]
        [--postgres postgresql://...] [--servers balise,same-bytes,same-bytes-read,flask,bare-302]
        [--profile balise.txt]

Absolute figures drift between runs and machines; the ratios measured in one run do not.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psutil  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from tests.bench import readerdata  # noqa: E402
from tests.bench.loadrun import (  # noqa: E402
    BROWSER_UA,
    Result,
    all_cpus,
    cpu_seconds,
    free_port,
    get,
    run_wrk,
    serve,
    stop,
    wrk,
)
from tests.databases import scratch_database  # noqa: E402

from balise import config  # noqa: E402
from balise.db import make_engine, upgrade  # noqa: E402
from balise.db.tables import clicks, robot_hits  # noqa: E402

METRICS_TOKEN = "bench-metrics-token"  # noqa: S105 - a throwaway server on 127.0.0.1
# What waitress sets itself: the same for every server, so not copied into the same-bytes app.
OWN_HEADERS = {"server", "date", "connection"}
BASELINES = {
    "bare302.py": """
        import logging; logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        def app(environ, start_response):
            start_response("302 Found", [("Location", "https://example.org/"),
                                         ("Content-Length", "0")])
            return [b""]
    """,
    "flaskapp.py": """
        import logging; logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        from flask import Flask, redirect
        app = Flask(__name__)

        @app.get("/<slug>")
        def go(slug):
            return redirect("https://example.org/" + slug)
    """,
    # The pages Balise served (one with a summary, one without), sent for the links of the
    # same kind: the bytes and headers of a reader page, and nothing else.
    "samebytes.py": """
        import logging; logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        import base64, json, os
        with open(os.environ["BENCH_PAGES"]) as fh:
            _pages = json.load(fh)
        SHARE = _pages.pop("share")
        PAGES = {kind: ([tuple(h) for h in page["headers"]], base64.b64decode(page["body"]))
                 for kind, page in _pages.items()}

        def app(environ, start_response):
            try:
                i = int(environ["PATH_INFO"][2:])
            except ValueError:
                i = 1
            kind = "summary" if int(i * SHARE) != int((i - 1) * SHARE) else "plain"
            headers, body = PAGES[kind]
            start_response("200 OK", headers)
            return [body]
    """,
    # The same bytes, but a link its cache of BENCH_CACHE_SIZE (least recently used out) does
    # not hold is read first, as Balise reads it (one query, on a connection of the thread's
    # own): the limit of serving that page when the links outnumber the cache.
    "samebytesread.py": """
        from samebytes import app as send
        import os, sqlite3, threading
        from collections import OrderedDict
        DATABASE, SQL = os.environ["BENCH_SQLITE"], os.environ["BENCH_ENTRY_SQL"]
        SIZE = int(os.environ["BENCH_CACHE_SIZE"])
        held, lock, local, counts = OrderedDict(), threading.Lock(), threading.local(), [0, 0]

        def read(key):
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = sqlite3.connect(DATABASE, check_same_thread=False)
            return conn.execute(SQL, (key,)).fetchone()

        def app(environ, start_response):
            key = environ["PATH_INFO"][1:].lower()
            if key == "__counts":
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [("%d %d" % tuple(counts)).encode()]
            with lock:
                found = key in held
                if found:
                    held.move_to_end(key)
                counts[0 if found else 1] += 1
            if not found:
                row = read(key)
                with lock:
                    held[key] = row
                    if len(held) > SIZE:
                        held.popitem(last=False)
            return send(environ, start_response)
    """,
}
SERVERS = ("balise", "same-bytes", "same-bytes-read", "flask", "bare-302")
LABELS = {
    "balise": "Balise GET /<slug>",
    "same-bytes": "same bytes (limit)",
    "same-bytes-read": "same bytes, a read a miss",
    "flask": "minimal Flask",
    "bare-302": "bare WSGI 302",
}


def cache_counts(port: int) -> tuple[float, float, float]:
    """The slug cache's hits and misses so far, and the requests answered on the loop thread
    (cli/dispatch.py), from /metrics."""
    body = get(port, "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"}).body  # type: ignore[attr-defined]
    names = {
        "hits": "balise_link_cache_hits_total",
        "misses": "balise_link_cache_misses_total",
        "loop": "balise_requests_on_loop_total",
    }
    found = dict.fromkeys(names, 0.0)
    for key, metric in names.items():
        match = re.search(rf"^{metric} (\S+)$", body.decode(), re.M)
        if match:
            found[key] = float(match.group(1))
    return found["hits"], found["misses"], found["loop"]


def capture_pages(port: int, share: float) -> dict[str, Any]:
    """A reader page of a link with a summary and of one without, as Balise sent them."""
    pages: dict[str, Any] = {"share": share}
    for i in range(1, 1000):
        kind = "summary" if readerdata.has_summary(i, share) else "plain"
        if kind in pages:
            continue
        response = get(port, f"/{readerdata.slug(i)}", {"User-Agent": BROWSER_UA})
        if response.status != 200:
            raise SystemExit(f"Balise answered {response.status} for a bench link")
        headers = [(k, v) for k, v in response.getheaders() if k.lower() not in OWN_HEADERS]
        body = response.body  # type: ignore[attr-defined]
        pages[kind] = {"headers": headers, "body": base64.b64encode(body).decode()}
        if len(pages) == 3 or share in (0, 1):
            break
    for kind in ("summary", "plain"):
        pages.setdefault(kind, pages.get("plain") or pages["summary"])
    return pages


def profiled(cmd: list[str], output: str | None, duration: int) -> Callable[[int], Any]:
    """Attach py-spy (all threads, native waits shown as idle) to the server for the run."""
    if not output:
        return lambda pid: None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")

    def attach(pid: int) -> subprocess.Popen[Any]:
        fmt = "raw" if output.endswith(".txt") else "speedscope"
        return subprocess.Popen(  # noqa: S603
            [spy, "record", "--pid", str(pid), "--threads", "--gil", "--subprocesses",
             "--rate", "250", "--duration", str(duration), "--format", fmt, "-o", output],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip

    return attach


def bench(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="balise-bench-"))
    drop = None
    if args.postgres:
        database_url, drop = scratch_database(args.postgres, "balise_bench")
    else:
        database_file = Path(args.sqlite_file).resolve() if args.sqlite_file else None
        database_url = f"sqlite:///{database_file or workdir / 'balise.db'}"
    try:
        return _bench(args, workdir, database_url)
    finally:
        if drop:
            drop()
        shutil.rmtree(workdir, ignore_errors=True)


def _bench(args: argparse.Namespace, workdir: Path, database_url: str) -> dict[str, Any]:
    engine = make_engine(database_url)
    upgrade(engine)
    controls = args.controls
    if controls and not readerdata.controls_supported(engine):
        print(f"--controls {controls}: ignored, the links table has no utm_source/rules columns")
        controls = 0.0
    started = time.monotonic()
    if readerdata.seeded(engine) == args.links:
        print(f"reusing the {args.links} links of {database_url}")
    else:
        readerdata.seed(engine, args.links, args.summaries, controls)
        print(f"{args.links} links written in {time.monotonic() - started:.0f} s", flush=True)
    clicks_before = count_rows(database_url)[0]
    for name, source in BASELINES.items():
        (workdir / name).write_text(textwrap.dedent(source))
    pythonpath = os.pathsep.join(filter(None, [str(workdir), os.environ.get("PYTHONPATH")]))
    base_env = os.environ | {"PYTHONPATH": pythonpath, "BENCH_PAGES": str(workdir / "pages")}
    results: dict[str, Result] = {}
    port = free_port()
    env = base_env | {
        "BALISE_DATA_DIR": str(workdir / "instance"),
        "BALISE_DATABASE_URL": database_url,
        "BALISE_PORT": str(port),
        "BALISE_THREADS": str(args.threads),
        "BALISE_BASE_URL": f"http://127.0.0.1:{port}",
        "BALISE_LOG_LEVEL": "INFO",  # the recorder logs its count of clicks served at exit
        "BALISE_FETCH_METADATA": "0",  # benchmark targets are not real pages
        "BALISE_METRICS_TOKEN": METRICS_TOKEN,
    }
    if args.cache_size:
        env["BALISE_CACHE_SIZE"] = str(args.cache_size)
    env["BALISE_SERVE_CPU"] = args.serve_cpu
    proc = serve([sys.executable, "-m", "balise", "serve"], env, port, "/healthz")
    # The baselines run on the CPUs Balise's serving process took (BALISE_SERVE_CPU): the
    # same settings, so the ratios compare the code, not the scheduling.
    cpus = sorted(psutil.Process(proc.pid).cpu_affinity() or [])
    pinned = ["taskset", "-c", ",".join(map(str, cpus))] if cpus != sorted(all_cpus()) else []
    args.serve_cpus = cpus
    wrk(port, args, workdir, duration=args.warmup)  # warm-up
    hits, misses, loop = cache_counts(port)
    spy = profiled([], args.profile, args.duration)(proc.pid)
    cpu = cpu_seconds(proc.pid, bool(args.postgres))
    balise = wrk(port, args, workdir, duration=args.duration)
    balise.measured_cpu(cpu, cpu_seconds(proc.pid, bool(args.postgres)))
    hits2, misses2, loop2 = cache_counts(port)
    if spy is not None:
        spy.wait(timeout=60)
    steady: tuple[Result, float] | None = None
    if args.steady:
        wrk(port, args, workdir, duration=args.steady)  # the same stream, not measured
        hits3, misses3, _ = cache_counts(port)
        cpu = cpu_seconds(proc.pid, bool(args.postgres))
        again = wrk(port, args, workdir, duration=args.duration)
        again.measured_cpu(cpu, cpu_seconds(proc.pid, bool(args.postgres)))
        hits4, misses4, _ = cache_counts(port)
        looked_again = (hits4 - hits3) + (misses4 - misses3)
        again.name = LABELS["balise"] + ", steady"
        steady = (again, (hits4 - hits3) / looked_again)
    pages = capture_pages(port, args.summaries)
    (workdir / "pages").write_text(json.dumps(pages))
    log = stop(proc)
    if args.log:
        Path(args.log).write_text(log)
    balise.name = LABELS["balise"]
    results["balise"] = balise
    engine.dispose()
    waitress = [*pinned, sys.executable, "-m", "waitress", f"--threads={args.threads}"]
    waitress.append("--host=127.0.0.1")
    waitress.append("--ident=balise")  # as `balise serve` names itself
    modules = {
        "same-bytes": "samebytes:app",
        "same-bytes-read": "samebytesread:app",
        "flask": "flaskapp:app",
        "bare-302": "bare302:app",
    }
    base_env |= {
        "BENCH_SQLITE": database_url.removeprefix("sqlite:///"),
        "BENCH_ENTRY_SQL": entry_sql(),
        "BENCH_CACHE_SIZE": str(args.cache_size or config.load({})["CACHE_SIZE"]),
    }
    for server in args.servers:
        if server == "balise":
            continue
        port = free_port()
        proc = serve([*waitress, f"--port={port}", modules[server]], base_env, port, "/k0000001")
        if server == "same-bytes-read":  # its hit ratio over the measured run, too
            wrk(port, args, workdir, duration=args.warmup)
            before = read_counts(port)
            cpu = cpu_seconds(proc.pid, False)
            results[server] = wrk(port, args, workdir, duration=args.duration)
            results[server].measured_cpu(cpu, cpu_seconds(proc.pid, False))
            hit, miss = (b - a for a, b in zip(before, read_counts(port), strict=True))
            args.read_hit_ratio = hit / (hit + miss)
        else:
            results[server] = run_wrk(port, args, workdir, proc.pid)
        results[server].name = LABELS[server]
        stop(proc)
    served = sum(int(n) for n in re.findall(r"clicks served: (\d+)", log))
    n_clicks, n_robots = count_rows(database_url)
    n_clicks -= clicks_before
    looked = (hits2 - hits) + (misses2 - misses)
    hit_ratio = (hits2 - hits) / looked
    args.loop_share = (loop2 - loop) / looked  # of the measured run's requests
    return report(results, args, controls, served, n_clicks, n_robots, hit_ratio, steady)


def entry_sql() -> str:
    """The reader path's read of one slug (web/reader/page.py), as SQLite runs it."""
    from sqlalchemy import bindparam
    from sqlalchemy.dialects import sqlite

    from balise.db.tables import links
    from balise.web.reader.page import _ENTRY

    where = _ENTRY.where(links.c.slug_key == bindparam("key"))
    return str(where.compile(dialect=sqlite.dialect()))


def read_counts(port: int) -> tuple[int, int]:
    """The same-bytes-read app's hits and misses so far."""
    hits, misses = get(port, "/__counts", {}).body.split()  # type: ignore[attr-defined]
    return int(hits), int(misses)


def count_rows(database_url: str) -> tuple[int, int]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        n_clicks = conn.execute(select(func.count()).select_from(clicks)).scalar_one()
        n_robots = conn.execute(select(func.count()).select_from(robot_hits)).scalar_one()
    engine.dispose()
    return n_clicks, n_robots


def report(
    results: dict[str, Result],
    args: argparse.Namespace,
    controls: float,
    served: int,
    n_clicks: int,
    n_robots: int,
    hit_ratio: float,
    steady: tuple[Result, float] | None = None,
) -> dict[str, Any]:
    backend = "PostgreSQL" if args.postgres else "SQLite"
    mix = f"Zipf s={args.zipf}" if args.zipf else "in turn"
    print(
        f"\nReader path, {backend}, {args.links} links requested {mix} "
        f"({args.summaries:.0%} with summaries, {controls:.0%} with link controls), "
        f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s, "
        f"waitress {args.threads} threads, {os.cpu_count()} cores, servers on CPUs "
        f"{','.join(map(str, args.serve_cpus))} (BALISE_SERVE_CPU={args.serve_cpu})\n"
    )
    print(
        f"{'server':<30}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'requests':>11}{'errors':>8}"
        f"{'CPU us/req':>12}{'store us/req':>14}{'db us/req':>11}{'wrk us/req':>12}  CPUs busy"
    )
    shown = [*results.values(), *([steady[0]] if steady else [])]
    for r in shown:
        print(
            f"{r.name:<30}{r.rps:>10.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}"
            f"{r.requests:>11}{r.errors:>8}{r.cpu_us:>12.0f}{r.children_cpu_us:>14.0f}"
            f"{r.db_cpu_us:>11.0f}{r.wrk_cpu_us:>12.0f}  {r.busy}"
        )
    balise = results["balise"]
    for key, r in results.items():
        if key != "balise":
            print(f"Balise / {r.name}: {balise.rps / r.rps:.2f}")
    if steady:
        for key, r in results.items():
            if key != "balise":
                print(f"Balise, steady / {r.name}: {steady[0].rps / r.rps:.2f}")
    print(f"\nslug cache hit ratio over the measured run: {hit_ratio:.3f}")
    if "same-bytes-read" in results:
        print(f"same bytes, a read a miss: its cache's hit ratio {args.read_hit_ratio:.3f}")
    print(f"requests answered on the loop thread: {args.loop_share:.3f}")
    if steady:
        print(f"slug cache hit ratio over the steady run ({args.steady} s later): {steady[1]:.3f}")
    print(f"clicks Balise served: {served}; clicks stored: {n_clicks}; robot hits: {n_robots}")
    figures: dict[str, Any] = {
        "backend": backend.lower(),
        "links": args.links,
        "zipf": args.zipf,
        "controls": controls,
        "cache_size": args.cache_size or "default",
        "serve_cpu": args.serve_cpu,
        "serve_cpus": args.serve_cpus,
    }
    for key in ("same-bytes", "same-bytes-read", "flask", "bare-302"):
        name = key.replace("-", "_")
        if key in results:
            figures[f"{name}_rps"] = round(results[key].rps)
            figures[f"ratio_{name}"] = round(balise.rps / results[key].rps, 3)
    for key, r in results.items():  # CPU per request: the server's, and its store process's
        figures[f"{key.replace('-', '_')}_cpu_us"] = round(r.cpu_us)
    figures["balise_store_cpu_us"] = round(balise.children_cpu_us)
    # The load generator's CPU per request, and how busy each CPU was: wrk and the click
    # store share the CPUs the server is not pinned to, so they bound the rate too.
    figures["balise_db_cpu_us"] = round(balise.db_cpu_us)
    figures["balise_wrk_cpu_us"] = round(balise.wrk_cpu_us)
    figures["balise_cpus_busy"] = [round(1 - share, 3) for share in balise.idle]
    figures |= {
        "balise_rps": round(balise.rps),
        "balise_p50_ms": balise.p50_ms,
        "balise_p99_ms": balise.p99_ms,
        "balise_errors": balise.errors,
    }
    if "same-bytes" in results:
        figures["same_bytes_p50_ms"] = results["same-bytes"].p50_ms
        figures["same_bytes_p99_ms"] = results["same-bytes"].p99_ms
    if "same-bytes-read" in results:
        figures["same_bytes_read_p99_ms"] = results["same-bytes-read"].p99_ms
        figures["same_bytes_read_hit_ratio"] = round(args.read_hit_ratio, 4)
    if steady:
        again = steady[0]
        figures |= {
            "steady_after_s": args.steady,
            "steady_balise_rps": round(again.rps),
            "steady_balise_p50_ms": again.p50_ms,
            "steady_balise_p99_ms": again.p99_ms,
            "steady_balise_errors": again.errors,
            "steady_cache_hit_ratio": round(steady[1], 4),
            "steady_balise_cpu_us": round(again.cpu_us),
            "steady_balise_store_cpu_us": round(again.children_cpu_us),
            "steady_balise_db_cpu_us": round(again.db_cpu_us),
            "steady_balise_wrk_cpu_us": round(again.wrk_cpu_us),
            "steady_balise_cpus_busy": [round(1 - share, 3) for share in again.idle],
        }
        for key in ("same-bytes", "same-bytes-read"):
            if key in results:
                name = key.replace("-", "_")
                figures[f"ratio_steady_{name}"] = round(again.rps / results[key].rps, 3)
    figures |= {
        "cache_hit_ratio": round(hit_ratio, 4),
        "loop_share": round(args.loop_share, 4),
        "clicks_served": served,
        "clicks_stored": n_clicks,
    }
    if served != n_clicks:
        print("CLICKS LOST OR DOUBLED: served and stored differ")
    print(json.dumps(figures))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=0, help="seconds (0: a third of --duration)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--steady",
        type=int,
        default=0,
        help="seconds of the same load before measuring Balise again, in its steady state",
    )
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads for every server")
    parser.add_argument("--links", type=int, default=1000, help="1 to 1,000,000")
    parser.add_argument(
        "--zipf", type=float, default=None, help="Zipf exponent (0: in turn); 1.1 beyond 10,000"
    )
    parser.add_argument("--summaries", type=float, default=0.3, help="share of links with one")
    parser.add_argument(
        "--controls",
        type=float,
        default=0.0,
        help="share of links with UTM values and two rules (when the links have those columns)",
    )
    parser.add_argument("--cache-size", type=int, default=0, help="BALISE_CACHE_SIZE (0: default)")
    parser.add_argument("--serve-cpu", default="auto", help="BALISE_SERVE_CPU: auto, off, N")
    parser.add_argument(
        "--sqlite-file", help="keep the SQLite database here, and reuse it when it holds the links"
    )
    parser.add_argument("--postgres", help="run Balise on a scratch database of this server")
    parser.add_argument("--servers", default=",".join(SERVERS), help="which servers to load")
    parser.add_argument("--log", help="keep Balise's log in this file")
    parser.add_argument("--profile", help="py-spy Balise during the measured run (.txt: raw)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    if not 1 <= args.duration <= 120 or not 1 <= args.connections <= 256:
        raise SystemExit("keep the load bounded: --duration 1-120 s, --connections 1-256")
    if not 0 <= args.steady <= 600:
        raise SystemExit("--steady: 0 to 600 s")
    if not 1 <= args.links <= 1_000_000:
        raise SystemExit("--links: 1 to 1,000,000")
    if not 0 <= args.summaries <= 1 or not 0 <= args.controls <= 1:
        raise SystemExit("--summaries and --controls are shares: 0 to 1")
    args.warmup = args.warmup or max(3, args.duration // 3)
    if args.zipf is None:
        args.zipf = 1.1 if args.links > 10_000 else 0.0
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if "balise" not in args.servers:
        args.servers.insert(0, "balise")
    if args.postgres and "same-bytes-read" in args.servers:  # it reads SQLite
        args.servers.remove("same-bytes-read")
    unknown = set(args.servers) - set(SERVERS)
    if unknown:
        raise SystemExit(f"--servers: unknown {', '.join(sorted(unknown))}")
    bench(args)


if __name__ == "__main__":
    main()
