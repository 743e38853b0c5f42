"""Tracking glue between HTTP and the click recorder: observe a reader request, confirm a beacon.

The reader view calls observe() before responding (it enforces max_clicks) and record() after;
the work it adds to a request is classification (cached), a token, and a put in the buffer.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, jsonify, request
from markupsafe import Markup

from balise import classify
from balise.beacon import BeaconTokens
from balise.clicks import Hit, observe
from balise.errors import BadRequest, Gone
from balise.geoip import CountryLookup
from balise.links import Link
from balise.recorder import Recorder
from balise.web.assets import text
from balise.web.context import state

bp = Blueprint("tracking", __name__)
MAX_BEACON_BYTES = 1024


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
    balise.services["beacons"] = BeaconTokens(app.config["SECRET_KEY"])
    balise.on_shutdown(recorder.close)
    # Trusted static asset, inlined raw like redirect.js; its CSP hash stays constant.
    app.jinja_env.globals["beacon_js"] = Markup(text("beacon.js"))  # noqa: S704
    app.register_blueprint(bp)


def recorder() -> Recorder:
    return state().services["clicks"]  # type: ignore[no-any-return]


def _beacons() -> BeaconTokens:
    return state().services["beacons"]  # type: ignore[no-any-return]


def _gone(link: Link) -> Gone:
    return Gone(f"The link '{link.slug}' has reached its click limit.")


def check_limit(link: Link) -> None:
    """410 once a link has served its max_clicks (for requests that record nothing)."""
    if not recorder().admit(link, is_click=False):
        raise _gone(link)


def observe_request(link: Link) -> Hit | None:
    """Classify this GET of the reader page into the hit to record; None for HEAD.

    Raises Gone when the link has served its max_clicks.
    """
    if request.method != "GET":
        check_limit(link)
        return None
    verdict = classify.classify(request.headers.items())
    rec = recorder()
    if not rec.admit(link, is_click=verdict.kind == classify.CLICK):
        raise _gone(link)
    headers = request.headers
    dnt = bool(state().settings["HONOR_DNT"]) and (
        headers.get("DNT", "").strip() == "1" or headers.get("Sec-GPC", "").strip() == "1"
    )
    return observe(
        verdict.kind,
        link.id,
        rec.clock(),
        uid=secrets.token_hex(16) if verdict.kind == classify.CLICK else None,
        ip=request.remote_addr or "",
        user_agent=headers.get("User-Agent", ""),
        referrer=headers.get("Referer"),
        args=request.args,
        dnt=dnt,
        agent=verdict.agent,
    )


def beacon_token(hit: Hit | None) -> str:
    """The token the page sends back to confirm the click; empty for anything but a click."""
    if hit is None or hit.uid is None:
        return ""
    return _beacons().sign(hit.uid, hit.link_id, hit.ts)


def record(hit: Hit | None) -> None:
    if hit is not None:
        recorder().record(hit)


@bp.post("/<slug>/beacon")
def beacon(slug: str) -> Response:
    """The reader page's sendBeacon: confirms the click its token names (once)."""
    try:
        if (request.content_length or 0) > MAX_BEACON_BYTES:
            raise BadRequest("The beacon body is too large.")
        token = request.get_data(as_text=True).strip()
        confirmation = _beacons().verify(token, recorder().clock())
    except BadRequest as problem:
        response = jsonify(problem.to_dict())
        response.mimetype = "application/problem+json"
        response.status_code = problem.status
        response.headers["Cache-Control"] = "no-store"
        return response
    recorder().confirm(confirmation)
    return Response(status=204, headers={"Cache-Control": "no-store"})
