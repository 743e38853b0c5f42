"""The link form's controls (balise.links.controls): UTM values, query forwarding, fallback URL,
opening date, password and targeting rules, from form fields to API values and back.

Checked by the API's own ControlFields schema, with messages in the viewer's language; the
rules are typed as JSON (a list of objects), each error naming its rule.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

from balise.links.controls import UTM_FIELDS
from balise.links.store import Link
from balise.web.api.schemas.controls import ControlFields
from balise.web.dashboard.i18n import field_message, pydantic_message

TEXT = (*UTM_FIELDS, "fallback_url", "valid_from", "rules", "password")
FLAGS = ("forward_query", "remove_password")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def blank() -> dict[str, Any]:
    return dict.fromkeys(TEXT, "") | dict.fromkeys(FLAGS, False) | {"protected": False}


def from_link(link: Link, tz: ZoneInfo) -> dict[str, Any]:
    """The form's control fields for `link` (never its password)."""
    data = blank()
    data.update({name: getattr(link, name) or "" for name in UTM_FIELDS})
    data["fallback_url"] = link.fallback_url or ""
    if link.valid_from is not None:
        data["valid_from"] = link.valid_from.astimezone(tz).strftime(LOCAL_FORMAT)
    if link.rules:
        rules = [{k: v for k, v in rule.items() if v is not None} for rule in link.rules]
        data["rules"] = json.dumps(rules, ensure_ascii=False, indent=2)
    data["forward_query"] = link.forward_query
    data["protected"] = link.password_protected
    return data


def read(form: MultiDict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {name: form.get(name, "").strip() for name in TEXT}
    data["password"] = form.get("password", "")  # spaces may be part of a password
    data.update({flag: form.get(flag) == "1" for flag in FLAGS})
    data["protected"] = form.get("protected") == "1"
    return data


def values(data: dict[str, Any], tz: ZoneInfo) -> tuple[dict[str, Any], dict[str, str]]:
    """API values of the control fields (blank ones are null), or errors beside each field."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {name: data[name] or None for name in (*UTM_FIELDS, "fallback_url")}
    out["forward_query"] = bool(data["forward_query"])
    out["valid_from"] = None
    if data["valid_from"]:
        try:
            local = datetime.strptime(data["valid_from"], LOCAL_FORMAT)
            out["valid_from"] = local.replace(tzinfo=tz).isoformat()
        except ValueError:
            errors["valid_from"] = _("Enter a valid date and time")
    out["rules"] = None
    if data["rules"]:
        try:
            out["rules"] = json.loads(data["rules"])
        except ValueError:
            errors["rules"] = _("Write the rules as a JSON list, as in the example.")
    if data["password"]:
        out["password"] = data["password"]
    elif data["remove_password"]:
        out["password"] = None
    try:
        ControlFields.model_validate({k: v for k, v in out.items() if k not in errors})
    except ValidationError as exc:
        for error in exc.errors():
            loc = error.get("loc") or ("rules",)
            errors.setdefault(str(loc[0]), _message(dict(error), loc))
    return {k: v for k, v in out.items() if k not in errors}, errors


def _message(error: dict[str, Any], loc: tuple[Any, ...]) -> str:
    name = str(loc[0])
    if error.get("type") == "string_pattern_mismatch":
        text = {
            "lang": _("Use a language code such as fr or fr-CA"),
            "country": _("Use a two-letter country code in capitals, such as FR"),
        }.get(str(loc[-1]), _("Use one line, without tabs or line breaks"))
    elif error.get("type") == "literal_error" and loc[-1] == "device":
        text = field_message("must be one of: mobile, tablet, desktop, ios, android")
    elif error.get("type") == "extra_forbidden":
        text = _("Unknown field “%(name)s”", name=loc[-1])
    elif error.get("type") in ("list_type", "model_type", "dict_type"):
        text = _("Write the rules as a JSON list, as in the example.")
    else:
        text = pydantic_message(error)
    if name == "rules" and len(loc) > 1 and isinstance(loc[1], int):
        return _("Rule %(n)s: %(message)s", n=loc[1] + 1, message=text)
    return text


def fold(errors: dict[str, str]) -> dict[str, str]:
    """Domain errors of one rule ("rules.0.url") shown beside the rules field, numbered."""
    out: dict[str, str] = {}
    for name, message in errors.items():
        head, _dot, rest = name.partition(".")
        if head == "rules" and rest:
            index = rest.partition(".")[0]
            number = int(index) + 1 if index.isdigit() else 1
            out.setdefault("rules", _("Rule %(n)s: %(message)s", n=number, message=message))
        else:
            out.setdefault(name, message)
    return out
