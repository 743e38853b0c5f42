"""What dashboard pages call the values they show: link states, roles, origins, periods,
statistics, summary fields. Marked for `pybabel extract` here, said in the page's language by
label(kind, value); a value without a name (a browser, a utm_* list) is shown as it is.
"""

from __future__ import annotations

from flask_babel import gettext

from balise.web.i18n import N_

LABELS: dict[str, dict[str, str]] = {
    "state": {
        "active": N_("Active"),
        "disabled": N_("Disabled"),
        "expired": N_("Expired"),
        "exhausted": N_("Used up"),
        "scheduled": N_("Scheduled"),
    },
    "role": {"viewer": N_("Viewer"), "editor": N_("Editor"), "admin": N_("Administrator")},
    "link_lang": {"": N_("From the browser"), "fr": N_("French"), "en": N_("English")},
    "origin": {
        "author": N_("Written by hand"),
        "extracted": N_("Drafted from the page"),
        "generated": N_("Generated draft"),
    },
    # Why the target page's card could not be fetched (summaries/cards.py ERRORS).
    "card_error": {
        "refused": N_(
            "This server may not fetch the page at that address: the link has no card of its own."
        ),
        "unsupported": N_(
            "The page is not a web page this server can read: the link has no card of its own."
        ),
        "unreachable": N_(
            "The page could not be reached: the link has no card of its own, but it still works."
        ),
        "failed": N_("The page's card could not be read. The link still works."),
    },
    "preset": {"24h": N_("24 h"), "7d": N_("7 days"), "30d": N_("30 days"), "12m": N_("12 months")},
    "interval": {"hour": N_("Hour"), "day": N_("Day"), "week": N_("Week")},
    "by_interval": {"hour": N_("by hour"), "day": N_("by day"), "week": N_("by week")},
    "stat": {
        "clicks": N_("Clicks"),
        "confirmed": N_("Confirmed"),
        "served_only": N_("Served, not confirmed"),
        "unique_visitors": N_("Unique visitors"),
        "previous_clicks": N_("Clicks, previous period"),
        "preview_views": N_("Previews (extension)"),
        "bots": N_("Bots"),
        "prefetches": N_("Prefetches"),
    },
    "top": {
        "links": N_("Most clicked links"),
        "referrers": N_("Referrers"),
        "countries": N_("Countries"),
        "devices": N_("Devices"),
        "browsers": N_("Browsers"),
        "os": N_("Operating systems"),
    },
    "device": {
        "desktop": N_("Desktop"),
        "mobile": N_("Mobile"),
        "tablet": N_("Tablet"),
        "other": N_("Other"),
    },
    # A summary's fields as the version history names them ("Changed: Teaser, ...").
    "field": {
        "lang": N_("language"),
        "title": N_("Article title"),
        "teaser": N_("Teaser"),
        "recap": N_("Factual recap"),
        "neutral": N_("Neutral view"),
        "example": N_("Example"),
        "optimistic": N_("Optimistic view"),
        "pessimistic": N_("Pessimistic view"),
        "source_url": N_("Source article (URL)"),
        "image_url": N_("Image (URL)"),
    },
    # The summary editor's section labels.
    "section": {
        "recap": N_("Factual recap"),
        "neutral": N_("Neutral view"),
        "example": N_("Example (an everyday analogy)"),
        "optimistic": N_("Optimistic view"),
        "pessimistic": N_("Pessimistic view"),
    },
    # Webhook event types (names of the events sent) and the states of a delivery.
    "webhook_event": {
        "link.created": N_("Link created"),
        "link.updated": N_("Link changed"),
        "link.deleted": N_("Link deleted"),
        "summary.updated": N_("Summary saved"),
        "summary.deleted": N_("Summary removed"),
        "clicks": N_("Clicks (anonymised, batched)"),
        "webhook.test": N_("Test event"),
    },
    "delivery": {
        "pending": N_("Pending"),
        "delivered": N_("Delivered"),
        "failed": N_("Failed"),
    },
    "hint": {
        "source_url": N_("Optional: the link's destination by default."),
        "image_url": N_("Optional: image of the social cards (og:image)."),
    },
}


def label(kind: str, value: str) -> str:
    """The name of `value` among `kind` in the page's language; the value itself if unnamed."""
    names = LABELS[kind]
    return gettext(names[value]) if value in names else value  # type: ignore[no-any-return]
