"""Stats pages (one link, all links), the CSV export, and read-only share links to them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone
from typing import Any

from flask import current_app, flash, redirect, request, stream_with_context, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from balise.accounts import shares
from balise.analytics import export
from balise.errors import ValidationFailed
from balise.links import store as links
from balise.links.store import Link
from balise.web.context import state, transaction
from balise.web.dashboard import stats_view
from balise.web.dashboard.blueprint import bp, page_lang, render, require
from balise.web.dashboard.links import find
from balise.web.dashboard.stats_filters import PageFilters, filters_from
from balise.web.dashboard.timezones import all_zones, viewer_tz

SHARE_DAYS = (1, 7, 30, 90, 365)


def retention_days() -> int:
    return int(state().settings.get("CLICK_RETENTION_DAYS") or 0)


def stats_context(link: Link | None, *, args: Any = None) -> dict[str, Any]:
    """Everything _stats.html needs for a link (or all links, link=None)."""
    tz = viewer_tz()
    now = datetime.now(timezone.utc)
    args = args if args is not None else request.args
    chosen = stats_view.parse_range(args, tz, now)
    filters = filters_from(args)
    with transaction() as conn:
        _period, found = stats_view.load(
            conn,
            chosen,
            tz,
            now,
            link_id=link.id if link else None,
            retention_days=retention_days(),
            filters=filters,
        )
    return {
        "range": chosen,
        "found": found,
        "changes": stats_view.changes(found, page_lang()),
        "page_filters": PageFilters(request.path, range_args(args), filters),
        "charts": stats_view.build_charts(found, page_lang()),
        "tops": stats_view.top_lists(found),
        "presets": list(stats_view.PRESETS),
        "intervals": ("hour", "day", "week"),
        "zones": all_zones(),
        "flag": flag,
        "link_stats_url": None if link else _stats_url,
        "range_args": range_args(args),
    }


def range_args(args: Any) -> dict[str, str]:
    """The query of a stats page that chooses its range, to carry to the CSV export (and never
    any other argument: url_for would take `slug` or `_method` as its own)."""
    return {name: args[name] for name in stats_view.RANGE_ARGS if args.get(name)}


def _stats_url(slug: str) -> str:
    return url_for("dashboard.link_stats", slug=slug)


def flag(country: str) -> str:
    """The flag emoji of a two-letter country code (regional indicator symbols)."""
    if len(country) != 2 or not country.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in country.upper())


@bp.get("/stats")
@require("viewer")
def all_stats() -> Any:
    return render("stats.html", link=None, **stats_context(None))


def _link_stats(link: Link, status: int = 200, **extra: Any) -> Any:
    return render(
        "stats.html", status, link=link, share_days=SHARE_DAYS, **stats_context(link), **extra
    )


@bp.get("/links/<slug>/stats")
@require("viewer")
def link_stats(slug: str) -> Any:
    with transaction() as conn:
        link = find(conn, slug)
    return _link_stats(link)


@bp.get("/links/<slug>/clicks.csv")
@require("viewer")
def clicks_csv(slug: str) -> Response:
    """The link's stored clicks in the page's range, as CSV, streamed in constant memory."""
    with transaction() as conn:
        link = find(conn, slug)
    return _csv(link.id, f"{link.slug}-clicks")


@bp.get("/clicks.csv")
@require("viewer")
def all_clicks_csv() -> Response:
    """Every link's stored clicks in the page's range, as CSV (same columns)."""
    return _csv(None, "clicks")


def _csv(link_id: int | None, name: str) -> Response:
    tz = viewer_tz()
    chosen = stats_view.parse_range(request.args, tz, datetime.now(timezone.utc))
    selected = export.export_query(link_id, chosen.start, chosen.end)
    engine = state().engine

    def generate() -> Iterator[str]:
        with engine.connect() as conn:
            yield from export.export_csv(conn, selected)

    name = f"{name}-{chosen.first_day:%Y%m%d}-{chosen.last_day:%Y%m%d}.csv"
    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _share_expiry(form: Any, tz: Any, now: datetime) -> datetime:
    choice = form.get("expires", "7")
    if choice == "custom":
        day = stats_view.parse_day(form.get("expires_on", ""), "expires_on")
        expiry = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    elif choice in {str(days) for days in SHARE_DAYS}:
        expiry = now + timedelta(days=int(choice))
    else:
        raise ValidationFailed.field("expires", "must be one of the choices")
    if not now < expiry <= now + timedelta(days=shares.MAX_DAYS):
        raise ValidationFailed.field("expires_on", "must be within the next year")
    return expiry.astimezone(timezone.utc)


@bp.post("/links/<slug>/share")
@require("editor")
def create_share(slug: str) -> Any:
    tz = viewer_tz()
    now = datetime.now(timezone.utc)
    with transaction() as conn:
        link = find(conn, slug)
        try:
            expiry = _share_expiry(request.form, tz, now)
        except ValidationFailed:
            refused = _("Choose an expiry date within the coming year.")
            return _link_stats(link, 422, share_error=refused)
        secret = link.share_secret or links.rotate_share_secret(conn, link)
    token = shares.make_token(current_app.config["SECRET_KEY"], link.id, secret, expiry)
    share_url = f"{state().base_url}/share/{token}"
    return _link_stats(link, 201, share_url=share_url, share_expires=expiry)


@bp.post("/links/<slug>/share/revoke")
@require("editor")
def revoke_shares(slug: str) -> Response:
    with transaction() as conn:
        links.rotate_share_secret(conn, find(conn, slug))
    flash(_("Every share link of this link is revoked."), "success")
    return redirect(url_for("dashboard.link_stats", slug=slug))
