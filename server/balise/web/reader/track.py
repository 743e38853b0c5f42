"""Tracking glue between HTTP and the click recorder: observe a reader request, confirm a beacon.

The reader path calls Tracker.observe() before responding (it enforces max_clicks) and
record() after; the work it adds to a request is classification (cached), a token, and a put
in the buffer.
"""

from __future__ import annotations

import itertools
import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, Flask, Response, jsonify, request
from markupsafe import Markup

from balise.analytics import classify
from balise.analytics.beacon import BeaconTokens
from balise.analytics.clicks import UTM_FIELDS, Hit, observe
from balise.analytics.geoip import CountryLookup
from balise.analytics.recorder import Recorder
from balise.errors import BadRequest, Gone
from balise.links.store import Link
from balise.web.context import state
from balise.web.metrics import Tally
from balise.web.reader.assets import text

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

bp = Blueprint("tracking", __name__)
MAX_BEACON_BYTES = 1024


# The WSGI environ keys of the headers classification reads, and their header names.
_CLASSIFY_ENVIRON = tuple(
    ("HTTP_" + name.upper().replace("-", "_"), name) for name in classify.HEADERS_READ
)
# Those besides the user agent: most requests send none, and are classified by it alone.
_MARKED_ENVIRON = tuple(key for key, name in _CLASSIFY_ENVIRON if name != "user-agent")


class Tracker:
    """Turns a reader request into the hit to record; needs no Flask request or app context,
    so the lean reader path (fastpath.py) and the Flask view share it."""

    def __init__(self, recorder: Recorder, beacons: BeaconTokens, honor_dnt: bool) -> None:
        self.recorder = recorder
        self.beacons = beacons
        self.honor_dnt = honor_dnt
        # Click ids need to be unique, not secret (the beacon token that names one is signed):
        # a random per-process prefix and a counter cost no system call per request.
        self._uid_prefix = secrets.token_hex(10)
        self._uid_counter = itertools.count()
        self.requests = Tally()  # reader GETs by (kind, status), for /metrics

    def count(self, kind: str, status: int) -> None:
        self.requests.add((kind, status))

    def count_refused(self, environ: WSGIEnvironment, status: int) -> None:
        """Count a reader GET answered 404 or 410 (HEAD is not classified, nor counted)."""
        if environ["REQUEST_METHOD"] == "GET":
            self.count(self._classify(environ).kind, status)

    def _classify(self, environ: WSGIEnvironment) -> classify.Verdict:
        for key in _MARKED_ENVIRON:
            if key in environ:
                return classify.classify(
                    (name, environ[key]) for key, name in _CLASSIFY_ENVIRON if key in environ
                )
        return classify.of_agent(environ.get("HTTP_USER_AGENT", ""))

    def _uid(self) -> str:
        return f"{self._uid_prefix}{next(self._uid_counter):012x}"

    def check_limit(self, link: Link) -> None:
        """410 once a link has served its max_clicks (for requests that record nothing)."""
        if not self.recorder.admit(link, is_click=False):
            raise _gone(link)

    def observe(self, link: Link, environ: WSGIEnvironment) -> Hit | None:
        """Classify this request of the reader page into the hit to record; None for HEAD.

        Raises Gone when the link has served its max_clicks.
        """
        if environ["REQUEST_METHOD"] != "GET":
            self.check_limit(link)
            return None
        verdict = self._classify(environ)
        if not self.recorder.admit(link, is_click=verdict.kind == classify.CLICK):
            raise _gone(link)  # counted by the Flask view that answers the 410
        self.count(verdict.kind, 200)
        dnt = self.honor_dnt and (
            environ.get("HTTP_DNT", "").strip() == "1"
            or environ.get("HTTP_SEC_GPC", "").strip() == "1"
        )
        query = environ.get("QUERY_STRING", "")
        args = dict(parse_qsl(query)) if "utm_" in query else {}
        # The link's own UTM values win, as they do in the target the reader is sent to
        # (links/controls.py), so its clicks count under the campaign the marketer set.
        for name in UTM_FIELDS:
            if value := getattr(link, name, None):
                args[name] = value
        return observe(
            verdict.kind,
            link.id,
            self.recorder.clock(),
            uid=self._uid() if verdict.kind == classify.CLICK else None,
            ip=environ.get("REMOTE_ADDR") or "",
            user_agent=environ.get("HTTP_USER_AGENT", ""),
            referrer=environ.get("HTTP_REFERER"),
            args=args,
            dnt=dnt,
            agent=verdict.agent,
        )

    def token(self, hit: Hit | None) -> str:
        """The token the page sends back to confirm the click; empty for anything but a click."""
        if hit is None or hit.uid is None:
            return ""
        return self.beacons.sign(hit.uid, hit.link_id, hit.ts)

    def record(self, hit: Hit | None) -> None:
        if hit is not None:
            self.recorder.record(hit)


def init_app(app: Flask) -> None:
    """Start the app's recorder (stopped, and flushed, by state(app).shutdown())."""
    settings = app.config["BALISE"]
    balise = state(app)
    recorder = Recorder(
        balise.engine,
        own_host=urlsplit(settings["BASE_URL"]).hostname,
        batch_size=settings["CLICK_BATCH_SIZE"],
        flush_interval=settings["CLICK_FLUSH_INTERVAL"],
        queue_size=settings["CLICK_QUEUE_SIZE"],
        retention_days=settings["CLICK_RETENTION_DAYS"],
        countries=CountryLookup(settings["GEOIP_DB"]),
    )
    balise.services["clicks"] = recorder.start()
    balise.services["tracker"] = Tracker(
        recorder, BeaconTokens(app.config["SECRET_KEY"]), bool(settings["HONOR_DNT"])
    )
    balise.on_shutdown(recorder.close)
    # Trusted static asset, inlined raw like redirect.js; its CSP hash stays constant.
    app.jinja_env.globals["beacon_js"] = Markup(text("beacon.js"))  # noqa: S704
    app.register_blueprint(bp)


def tracker(app: Flask | None = None) -> Tracker:
    return state(app).services["tracker"]  # type: ignore[no-any-return]


def recorder() -> Recorder:
    return tracker().recorder


def _gone(link: Link) -> Gone:
    return Gone(f"The link '{link.slug}' has reached its click limit.", reason="exhausted")


@bp.post("/<slug>/beacon")
def beacon(slug: str) -> Response:
    """The reader page's sendBeacon: confirms the click its token names (once)."""
    try:
        if (request.content_length or 0) > MAX_BEACON_BYTES:
            raise BadRequest("The beacon body is too large.")
        token = request.get_data(as_text=True).strip()
        confirmation = tracker().beacons.verify(token, recorder().clock())
    except BadRequest as problem:
        response = jsonify(problem.to_dict())
        response.mimetype = "application/problem+json"
        response.status_code = problem.status
        response.headers["Cache-Control"] = "no-store"
        return response
    recorder().confirm(confirmation)
    return Response(status=204, headers={"Cache-Control": "no-store"})
