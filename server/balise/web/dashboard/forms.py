"""Link forms: HTML form fields to the values the API takes, and back.

A submitted form is checked by the API's own pydantic models (LinkCreate, LinkPatch) and then
by balise.links, so the dashboard and the API refuse exactly the same things.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

from balise.errors import Problem, SlugTaken, ValidationFailed
from balise.links.hosts import OwnServer
from balise.links.store import Link, validate_slug
from balise.links.urls import clean_target
from balise.web.api.schemas import LinkCreate, LinkPatch
from balise.web.dashboard import controls
from balise.web.dashboard.i18n import field_message, pydantic_message

Errors = dict[str, str]
TEXT_FIELDS = (
    "url",
    "slug",
    "title",
    "tags",
    "lang",
    "redirect_delay",
    "expires_at",
    "max_clicks",
    "redirect_mode",
    "redirect_status",
)
FLAGS = ("reading_delay", "disabled")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def blank_form() -> dict[str, Any]:
    defaults = {"redirect_mode": "interstitial", "redirect_status": "302"}
    form = {name: "" for name in TEXT_FIELDS} | dict.fromkeys(FLAGS, False) | defaults
    return form | controls.blank()


def form_from_link(link: Link, tz: ZoneInfo) -> dict[str, Any]:
    """The edit form of a link, times shown in the viewer's zone."""
    expires = link.expires_at.astimezone(tz).strftime(LOCAL_FORMAT) if link.expires_at else ""
    return {
        "url": link.url,
        "slug": link.slug,
        "title": link.title or "",
        "tags": ", ".join(link.tags),
        "lang": link.lang or "",
        "redirect_delay": "" if link.redirect_delay is None else str(link.redirect_delay),
        "expires_at": expires,
        "max_clicks": "" if link.max_clicks is None else str(link.max_clicks),
        "reading_delay": link.reading_delay,
        "disabled": link.disabled,
        "redirect_mode": link.redirect_mode,
        "redirect_status": str(link.redirect_status),
    } | controls.from_link(link, tz)


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def read_form(form: MultiDict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    data.update({flag: form.get(flag) == "1" for flag in FLAGS})
    data.update(controls.read(form))
    # "example.org/article" is what people paste from an address bar: it means https://.
    url = data["url"]
    if url and not _SCHEME.match(url) and not url.startswith(("/", "\\")):
        data["url"] = "https://" + url
    return data


def _values(data: dict[str, Any], tz: ZoneInfo) -> tuple[dict[str, Any], Errors]:
    """Form strings to API values: blank optional fields are null, local times get the zone."""
    errors: Errors = {}
    values: dict[str, Any] = {"url": data["url"]}
    for name in ("title", "lang", "redirect_delay", "max_clicks"):
        values[name] = data[name] or None
    values["tags"] = [tag.strip() for tag in data["tags"].split(",") if tag.strip()]
    values["reading_delay"] = data["reading_delay"]
    values["disabled"] = data["disabled"]
    values["redirect_mode"] = data["redirect_mode"] or "interstitial"
    status = data["redirect_status"] or "302"
    values["redirect_status"] = int(status) if status.isascii() and status.isdigit() else status
    values["expires_at"] = None
    if data["expires_at"]:
        try:
            local = datetime.strptime(data["expires_at"], LOCAL_FORMAT)
            values["expires_at"] = local.replace(tzinfo=tz).isoformat()
        except ValueError:
            errors["expires_at"] = _("Enter a valid date and time")
    if data["slug"]:
        values["slug"] = data["slug"]
    control_values, control_errors = controls.values(data, tz)
    values.update(control_values)
    errors.update(control_errors)
    return values, errors


def _early_domain_checks(values: dict[str, Any], errors: Errors, base_url: OwnServer) -> None:
    """The target and slug rules too, so one submission shows every error at once."""
    checks = {"url": lambda v: clean_target(v, own=base_url), "slug": validate_slug}
    for name, rule in checks.items():
        if name in values and name not in errors:
            try:
                rule(values[name])
            except ValidationFailed as exc:
                errors[name] = field_message(exc.errors[0]["message"])


def check(
    data: dict[str, Any],
    tz: ZoneInfo,
    *,
    creating: bool,
    base_url: OwnServer,
    current_slug: str | None = None,
) -> tuple[dict[str, Any], Errors]:
    """Validated values for links.create_link / update_link, or the errors field by field.

    Editing, the slug is a change only when it differs from `current_slug` (blank keeps it)."""
    values, errors = _values(data, tz)
    if not creating and values.get("slug", current_slug) == current_slug:
        values.pop("slug", None)
    model = LinkCreate if creating else LinkPatch
    parsed = None
    try:
        parsed = model.model_validate({k: v for k, v in values.items() if k not in errors})
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error.get("loc") else "url"
            errors.setdefault(name, pydantic_message(dict(error)))
    _early_domain_checks(values, errors, base_url)
    if errors or parsed is None:
        return {}, errors
    return parsed.model_dump(exclude_unset=True), errors


def domain_errors(exc: Problem) -> Errors:
    """A domain refusal (422 per field, 409 slug taken) as errors beside the fields."""
    if isinstance(exc, ValidationFailed):
        found: Errors = {}
        for error in exc.errors:
            found.setdefault(error["field"], field_message(error["message"]))
        return controls.fold(found)
    if isinstance(exc, SlugTaken):
        return {"slug": field_message(exc.detail)}
    raise exc
