"""The campaigns page: every utm_campaign and every tag with its totals over a range, each
leading to the statistics of all links filtered on it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from flask import request, url_for

from balise.analytics import campaigns as found
from balise.analytics.periods import make_period
from balise.web.context import transaction
from balise.web.dashboard import stats_view
from balise.web.dashboard.blueprint import bp, render, require
from balise.web.dashboard.stats import range_args
from balise.web.dashboard.timezones import viewer_tz


@bp.get("/campaigns")
@require("viewer")
def campaigns_page() -> Any:
    tz = viewer_tz()
    now = datetime.now(timezone.utc)
    chosen = stats_view.parse_range(request.args, tz, now)
    period = make_period(chosen.interval, tz, start=chosen.start, end=chosen.end, now=now)
    with transaction() as conn:
        campaigns, tags = found.campaigns(conn, period), found.tags(conn, period)
    kept = range_args(request.args)

    def stats_url(param: str, value: str) -> str:
        return url_for("dashboard.all_stats") + "?" + urlencode({**kept, param: value})

    return render(
        "campaigns.html",
        range=chosen,
        presets=list(stats_view.PRESETS),
        campaigns=campaigns,
        tags=tags,
        stats_url=stats_url,
    )
