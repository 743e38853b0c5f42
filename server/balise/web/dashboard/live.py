"""The live page: the last hour per minute and the latest clicks, refreshed by polling.

Polling (every LIVE_SECONDS, by dashboard.js fetching `?part=1`, the same block rendered on
the server) rather than Server-Sent Events: an open event stream would hold one of waitress's
few worker threads per open tab, and each poll reads the database, so any instance behind a
load balancer answers with every instance's clicks. Without JavaScript, the page reloads by
hand."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import request

from balise.analytics import live
from balise.web.context import transaction
from balise.web.dashboard.blueprint import bp, render, require

LIVE_SECONDS = 5
BAR_HEIGHT = 60


@bp.get("/live")
@require("viewer")
def live_page() -> Any:
    now = datetime.now(timezone.utc)
    with transaction() as conn:
        found = live.live(conn, now)
    top = max((m["clicks"] for m in found["minutes"]), default=0) or 1
    bars = [
        (i, max(round(BAR_HEIGHT * m["clicks"] / top), 1 if m["clicks"] else 0), m)
        for i, m in enumerate(found["minutes"])
    ]
    template = "_live.html" if request.args.get("part") == "1" else "live.html"
    return render(
        template,
        found=found,
        now=now,
        bars=bars,
        total=sum(m["clicks"] for m in found["minutes"]),
        bar_height=BAR_HEIGHT,
        every=LIVE_SECONDS,
    )
