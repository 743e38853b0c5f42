"""The fields a create or an update of a link may send, and the rules they must follow.

EDITABLE are the link's own fields; controls.FIELDS the link controls'. check() applies every
rule at once (the API, the dashboard's form and its CSV import all go through it), so one
answer lists every field error. Knows nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from balise.errors import ValidationFailed
from balise.links import controls
from balise.links.hosts import OwnServer
from balise.links.model import Link
from balise.links.urls import clean_target, url_key
from balise.values import text_problem

LANGS = ("fr", "en")
MAX_REDIRECT_DELAY = 10
REDIRECT_MODES = ("interstitial", "direct")  # the reader page, or an HTTP redirect
REDIRECT_STATUSES = (301, 302, 307, 308)
EDITABLE = (
    "url",
    "title",
    "tags",
    "lang",
    "redirect_delay",
    "reading_delay",
    "expires_at",
    "max_clicks",
    "disabled",
    "redirect_mode",
    "redirect_status",
)
# Everything a create may send: the slug, the link's own fields and the controls'.
CREATE_FIELDS = ("url", "slug", *(f for f in EDITABLE if f != "url"), *controls.FIELDS)


def check(
    values: Mapping[str, Any],
    base_url: OwnServer | str,
    current: Link | None = None,
    *,
    hash_password: bool = True,
) -> dict[str, Any]:
    """Every field error at once (ValidationFailed), else the control columns to store.

    An update (`current`, the link as it is) is checked against the link's own dates for the
    fields it does not send. With hash_password=False a password is checked, not hashed (a
    preview: the columns returned are then not for storing)."""
    errors = []
    delay = values.get("redirect_delay")
    if delay is not None and not 0 <= delay <= MAX_REDIRECT_DELAY:
        errors.append({"field": "redirect_delay", "message": "must be between 0 and 10 seconds"})
    if values.get("lang") not in (None, *LANGS):
        errors.append({"field": "lang", "message": "must be one of: fr, en"})
    if values.get("max_clicks") is not None and values["max_clicks"] < 1:
        errors.append({"field": "max_clicks", "message": "must be at least 1"})
    expires = values.get("expires_at")
    if expires is not None and expires.tzinfo is None:
        errors.append({"field": "expires_at", "message": "must include a time zone"})
    errors.extend(_redirect_errors(values))
    for flag in ("disabled", "reading_delay"):
        if flag in values and values[flag] is None:
            errors.append({"field": flag, "message": "must be true or false"})
    errors.extend(_text_errors(values))
    control_row, control_errors = controls.check(values, base_url, hash_password=hash_password)
    errors.extend(control_errors)
    start, end = values.get("valid_from"), values.get("expires_at")
    if current is not None:
        start = start if "valid_from" in values else current.valid_from
        end = end if "expires_at" in values else current.expires_at
    errors.extend(controls.window_errors(start, end))
    if errors:
        raise ValidationFailed(errors)
    return control_row


def _redirect_errors(values: Mapping[str, Any]) -> list[dict[str, str]]:
    errors = []
    if "redirect_mode" in values and values["redirect_mode"] not in REDIRECT_MODES:
        errors.append({"field": "redirect_mode", "message": "must be interstitial or direct"})
    if "redirect_status" in values and values["redirect_status"] not in REDIRECT_STATUSES:
        errors.append({"field": "redirect_status", "message": "must be 301, 302, 307 or 308"})
    return errors


def _text_errors(values: Mapping[str, Any]) -> list[dict[str, str]]:
    """The shared text rule (balise.values) on the title and each tag; one error per field."""
    texts = [("title", values.get("title")), *(("tags", t) for t in values.get("tags") or ())]
    found: dict[str, str] = {}
    for name, value in texts:
        # Tabs and line breaks are whitespace here, shown as spaces; the rest is refused.
        problem = text_problem(value, multiline=True) if isinstance(value, str) else None
        if problem is not None:
            found.setdefault(name, problem)
    return [{"field": name, "message": message} for name, message in found.items()]


def columns(values: Mapping[str, Any], base_url: OwnServer | str) -> dict[str, Any]:
    """The link's own columns to store for `values` (tags have their table; controls come
    from check())."""
    out = {k: v for k, v in values.items() if k in EDITABLE and k != "tags"}
    if "url" in out:
        out["url"] = clean_target(out["url"], own=base_url)
        out["url_key"] = url_key(out["url"])
    return out
