"""The viewer's time zone: `?tz=` when given, else the `balise_tz` cookie, else UTC.

The dashboard's script sets the cookie from the browser (Intl) on the first visit; without
scripts the account page and the stats range form offer a time-zone list.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import request

COOKIE = "balise_tz"
UTC = ZoneInfo("UTC")


@cache
def all_zones() -> tuple[str, ...]:
    """IANA zone names people pick from (Area/City), UTC first."""
    names = sorted(
        n for n in available_timezones() if "/" in n and not n.startswith(("Etc/", "SystemV/"))
    )
    return ("UTC", *names)


def parse_tz(name: str | None) -> ZoneInfo | None:
    if not name or len(name) > 64 or name not in all_zones():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def viewer_tz() -> ZoneInfo:
    return parse_tz(request.args.get("tz")) or parse_tz(request.cookies.get(COOKIE)) or UTC
