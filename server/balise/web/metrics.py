"""GET /metrics: Prometheus text format, for whoever holds BALISE_METRICS_TOKEN.

Nothing is counted through prometheus_client on the request path. The objects that already
exist keep their own counts (the tracker's reader requests in a lock-free Tally, the
recorder's stored clicks and failures, the slug cache's hits and misses, the webhook worker's
results) and a custom collector reads them when Prometheus scrapes. Request durations go to
one histogram per route group, in per-thread shards kept by the WSGI wrapper below (two clock
reads and a bisect, no lock).

Each `balise serve` process counts for itself: scrape every instance (one target per port).
"""

from __future__ import annotations

import bisect
import hmac
import itertools
import logging
import threading
import time
from collections.abc import Hashable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from balise.errors import NotFound, Unauthorized
from balise.integrations import deliveries, outbox
from balise.web.context import Balise, state

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
GROUPS = ("reader", "api", "lookup", "dashboard", "other")
OTHER_PATHS = ("/metrics", "/healthz", "/static/", "/robots.txt", "/favicon.ico")


def route_group(path: str) -> str:
    """reader (short links, previews, beacons, QR codes), api, lookup (the extension's public
    look-up), dashboard (and shared stats pages), other (health, metrics, static files)."""
    if path.startswith("/api/"):
        return "lookup" if path.startswith("/api/v1/summaries") else "api"
    if path.startswith(("/dashboard", "/share/")):
        return "dashboard"
    if path.startswith(OTHER_PATHS):
        return "other"
    return "reader"


class Tally:
    """Named counters that any thread bumps without a lock: next() on an itertools.count is one
    step under CPython's GIL. Read (from the counters' repr) when Prometheus scrapes."""

    def __init__(self) -> None:
        self._counters: dict[Hashable, Iterator[int]] = {}
        self._lock = threading.Lock()

    def add(self, key: Hashable) -> None:
        counter = self._counters.get(key)
        if counter is None:
            with self._lock:
                counter = self._counters.setdefault(key, itertools.count())
        next(counter)

    def values(self) -> dict[Hashable, int]:
        with self._lock:
            counters = list(self._counters.items())
        return {key: int(repr(counter)[len("count(") : -1]) for key, counter in counters}


class Durations:
    """Per route group: a count per bucket and the sum. Each thread adds to its own shard (no
    lock on the request path); a scrape adds the shards up."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._shards: list[dict[str, list[float]]] = []
        self._lock = threading.Lock()

    def _shard(self) -> dict[str, list[float]]:
        shard = {group: [0.0] * (len(BUCKETS) + 2) for group in GROUPS}  # buckets, +Inf, sum
        with self._lock:
            self._shards.append(shard)
        self._local.shard = shard
        return shard

    def observe(self, group: str, seconds: float) -> None:
        shard = getattr(self._local, "shard", None) or self._shard()
        row = shard[group]
        row[bisect.bisect_left(BUCKETS, seconds)] += 1
        row[-1] += seconds

    def family(self) -> HistogramMetricFamily:
        family = HistogramMetricFamily(
            "balise_request_duration_seconds",
            "Time to answer a request (until the body is handed over), by route group.",
            labels=["group"],
        )
        with self._lock:
            shards = list(self._shards)
        for group in GROUPS:
            totals = [sum(column) for column in zip(*(s[group] for s in shards), strict=True)]
            totals = totals or [0.0] * (len(BUCKETS) + 2)
            cumulative, running = [], 0.0
            for bound, count in zip((*map(str, BUCKETS), "+Inf"), totals[:-1], strict=True):
                running += count
                cumulative.append((bound, running))
            family.add_metric([group], cumulative, totals[-1])
        return family


class Timed:
    """WSGI wrapper timing every request into Durations (the reader's lean path included)."""

    def __init__(self, wsgi: WSGIApplication, durations: Durations) -> None:
        self.wsgi = wsgi
        self.durations = durations

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        try:
            return self.wsgi(environ, start_response)
        finally:
            group = route_group(environ.get("PATH_INFO", ""))
            self.durations.observe(group, time.perf_counter() - started)


class BaliseCollector(Collector):
    """Reads the app's counters when Prometheus scrapes."""

    def __init__(self, balise: Balise, durations: Durations) -> None:
        self.balise = balise
        self.durations = durations

    def collect(self) -> Iterator[Metric]:
        services = self.balise.services
        yield self._reader_requests(services["tracker"].requests.values())
        recorder, cache = services["clicks"], services["reader"].cache
        yield GaugeMetricFamily(
            "balise_clicks_buffered", "Clicks waiting in this process's buffer.", recorder.pending()
        )
        yield _counter("balise_clicks_stored", "Clicks this process stored.", recorder.stored_total)
        yield _counter(
            "balise_click_store_failures",
            "Attempts to store a batch of clicks that failed (each retried).",
            recorder.store_failures,
        )
        yield _counter(
            "balise_link_cache_hits", "Slug cache look-ups answered from memory.", cache.hits
        )
        yield _counter(
            "balise_link_cache_misses", "Slug cache look-ups that read the database.", cache.misses
        )
        dispatcher = services.get("dispatch")  # `balise serve` only (cli/dispatch.py)
        if dispatcher is not None:
            yield _counter(
                "balise_requests_on_loop",
                "Requests answered on the server's loop thread (pages the slug cache held "
                "ready); the others went to its worker threads.",
                dispatcher.served_on_loop,
            )
        yield self.durations.family()
        yield from self._webhooks(services["webhooks"])

    def _reader_requests(self, counts: dict[Any, int]) -> CounterMetricFamily:
        family = CounterMetricFamily(
            "balise_reader_requests",
            "Reader page GETs by who asked (click, bot, prefetch) and the status answered.",
            labels=["kind", "status"],
        )
        for (kind, status), value in sorted(counts.items()):
            family.add_metric([kind, str(status)], value)
        return family

    def _webhooks(self, worker: Any) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "balise_webhook_deliveries",
            "Delivery attempts this process made: delivered, retried (failed, tried again "
            "later) or failed (the last attempt).",
            labels=["result"],
        )
        results = worker.result_counts()
        for result in ("delivered", "retried", "failed"):
            family.add_metric([result], results.get(result, 0))
        yield family
        try:
            with self.balise.engine.connect() as conn:
                pending, queued = deliveries.pending_count(conn), outbox.queued_clicks(conn)
        except SQLAlchemyError as exc:
            log.warning("metrics: outbox not read (%s)", exc.__class__.__name__)
            return
        yield GaugeMetricFamily(
            "balise_webhook_outbox_pending",
            "Deliveries waiting to be sent or retried (the whole service).",
            pending,
        )
        yield GaugeMetricFamily(
            "balise_webhook_clicks_queued",
            "Clicks waiting for their endpoint's next clicks event (the whole service).",
            queued,
        )


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value)


@bp.get("/metrics")
def metrics() -> Response:
    token = str(current_app.config["BALISE"]["METRICS_TOKEN"])
    if not token:
        raise NotFound("Metrics are off: set BALISE_METRICS_TOKEN to turn them on.")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
        raise Unauthorized("Send 'Authorization: Bearer <BALISE_METRICS_TOKEN>'.")
    registry: CollectorRegistry = current_app.extensions["balise.metrics"]
    response = Response(generate_latest(registry), mimetype="text/plain")
    response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """The registry, the /metrics route, and the timing wrapper around everything but
    ProxyFix (so the lean reader path is timed too)."""
    durations = Durations()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BaliseCollector(state(app), durations))
    ProcessCollector(registry=registry)
    app.extensions["balise.metrics"] = registry
    app.register_blueprint(bp)
    app.wsgi_app = Timed(app.wsgi_app, durations)  # type: ignore[method-assign]
