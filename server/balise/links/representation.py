"""A link as other programs see it: the API's answer and the `link` of webhook events, made by
one function (link_data) so the two cannot drift apart.

The domain does not know the public origin: slugs.with_short_urls() adds `short_url` and
`preview_url` (the API when it answers, the outbox when it sends). Never the password, only
whether there is one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from balise.analytics.clicks import served_clicks
from balise.integrations.outbox import iso
from balise.links import controls, states
from balise.links.model import Link


def link_state(conn: Connection, link: Link) -> str:
    """One of states.STATES (exhausted once the clicks stored reach max_clicks)."""
    served = served_clicks(conn, link.id) if link.max_clicks is not None else 0
    return states.current_state(link, served)


def controls_out(link: object) -> dict[str, object]:
    """The control fields of a link as the API shows them (never the password)."""
    out: dict[str, object] = {name: getattr(link, name) for name in controls.UTM_FIELDS}
    rules = getattr(link, "rules", None)
    out.update(
        forward_query=getattr(link, "forward_query", False),
        fallback_url=getattr(link, "fallback_url", None),
        valid_from=getattr(link, "valid_from", None),
        password_protected=getattr(link, "password_hash", None) is not None,
        rules=[{k: v for k, v in rule.items() if v is not None} for rule in rules]
        if rules
        else None,
    )
    return out


def link_data(conn: Connection, link: Link) -> dict[str, Any]:
    """Every field of the LinkOut schema but the URLs on this server; times as datetimes."""
    return {
        "slug": link.slug,
        "url": link.url,
        "title": link.title,
        "tags": list(link.tags),
        "lang": link.lang,
        "redirect_delay": link.redirect_delay,
        "reading_delay": link.reading_delay,
        "expires_at": link.expires_at,
        "max_clicks": link.max_clicks,
        "disabled": link.disabled,
        "redirect_mode": link.redirect_mode,
        "redirect_status": link.redirect_status,
        "state": link_state(conn, link),
        "imported_clicks": link.imported_clicks,
        "created_at": link.created_at,
        "updated_at": link.updated_at,
        **controls_out(link),
    }


def event_data(conn: Connection, link: Link) -> dict[str, Any]:
    """The link as webhook events carry it: link_data, times written as every event writes
    them (UTC, with a Z), ready to be stored as JSON."""
    return {
        name: iso(value) if isinstance(value, datetime) else value
        for name, value in link_data(conn, link).items()
    }


def link_event(conn: Connection, link: Link) -> dict[str, Any]:
    """The data of a link.* or summary.deleted event: {"link": event_data}."""
    return {"link": event_data(conn, link)}
