"""What state a link is in as people see it: the stored fields, and the clicks it served.

Link.state() knows the fields (disabled, expired, and scheduled once a link has a start date);
max_clicks is enforced by the click counter (analytics.recorder admits a click while the clicks
stored stay below it), so `exhausted` needs the number of clicks stored, which the caller has:
the dashboard's list and link page read it with the link, the API from the hourly counters.
"""

from __future__ import annotations

from datetime import datetime

from balise.links.model import Link

STATES = ("active", "disabled", "expired", "exhausted", "scheduled")


def current_state(link: Link, served_clicks: int, now: datetime | None = None) -> str:
    """One of STATES: `exhausted` once the clicks stored reach max_clicks (readers get 410)."""
    state = link.state(now)
    if state == "active" and link.max_clicks is not None and served_clicks >= link.max_clicks:
        return "exhausted"
    return state
