"""`balise stats [SLUG]` and `balise clicks purge`: click statistics and retention by hand."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import click

from balise.analytics import stats
from balise.analytics.clicks import purge_expired
from balise.analytics.periods import make_period, parse_moment, zone
from balise.cli.common import connection
from balise.cli.common import settings as load_settings
from balise.errors import Problem
from balise.links import store as links

LABELS = {
    "clicks": "clicks",
    "confirmed": "confirmed",
    "unique_visitors": "unique visitors",
    "bots": "bots",
    "prefetches": "prefetches",
    "preview_views": "preview views",
}


@click.command("stats")
@click.argument("slug", required=False)
@click.option("--from", "start", help="ISO date or date-time (default: 30 days before --to).")
@click.option("--to", "end", help="ISO date or date-time, exclusive (default: now).")
@click.option("--tz", default="UTC", show_default=True, help="IANA time zone of dates.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON document.")
def stats_command(
    slug: str | None, start: str | None, end: str | None, tz: str, as_json: bool
) -> None:
    """Totals of one link (or of all links without SLUG), as the stats API reports them."""
    settings = load_settings()
    now = datetime.now(timezone.utc)
    try:
        zone_ = zone(tz)
        period = make_period(
            "day",
            zone_,
            start=parse_moment(start, zone_, "from") if start else None,
            end=parse_moment(end, zone_, "to") if end else None,
            now=now,
        )
    except Problem as exc:
        raise click.UsageError(exc.detail) from None
    days = int(settings["CLICK_RETENTION_DAYS"])
    with connection(write=False) as conn:
        link = links.get_link_by_slug(conn, slug) if slug else None
        if slug and link is None:
            raise click.ClickException(f"no link with the slug '{slug}'")
        found = stats.stats(
            conn,
            period,
            link_id=link.id if link else None,
            kept_since=now - timedelta(days=days) if days else None,
        )
    imported = link.imported_clicks if link else None
    if as_json:
        body = {"link": slug, **found, "imported_clicks": imported}
        click.echo(json.dumps(body, default=str, indent=2))
        return
    click.echo(f"link             {link.slug} -> {link.url}" if link else "links            all")
    click.echo(f"from             {found['from'].isoformat()}")
    click.echo(f"to               {found['to'].isoformat()}")
    for name, label in LABELS.items():
        click.echo(f"{label:<16} {found['totals'][name]}")
    if imported:
        click.echo(f"{'imported clicks':<16} {imported} (counted elsewhere before the import)")


@click.group("clicks")
def clicks_group() -> None:
    """Raw click storage."""


@clicks_group.command("purge")
@click.option(
    "--days", type=click.IntRange(min=1), help="Keep this many days (default: the setting)."
)
def clicks_purge(days: int | None) -> None:
    """Delete raw clicks and robot hits older than the retention period, keeping the hourly
    counts and daily unique visitors; also deletes past days' visitor salts."""
    settings = load_settings()
    days = days or int(settings["CLICK_RETENTION_DAYS"])
    if not days:
        raise click.UsageError("BALISE_CLICK_RETENTION_DAYS is 0 (keep forever); pass --days")
    with connection(write=True) as conn:
        gone_clicks, gone_robots = purge_expired(conn, datetime.now(timezone.utc), days)
    click.echo(f"deleted {gone_clicks} clicks and {gone_robots} robot hits older than {days} days")
