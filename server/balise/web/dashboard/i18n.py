"""The dashboard in the viewer's language: numbers and dates (Babel, CLDR data), and field
errors from the domain (written in English) said through the gettext catalogues.

The texts themselves are gettext calls in the views and templates (`_("Sign in")`).
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import NumberPattern, parse_pattern
from flask_babel import gettext

from balise.web.i18n import N_


def integer(value: float, lang: str) -> str:
    """1 234 in French (narrow no-break space), 1,234 in English; fractions rounded. What
    babel's format_decimal does, with the pattern and locale parsed once per language (a
    statistics page shows hundreds of numbers: 41 against 7 microseconds each)."""
    pattern, locale = _integers(lang)
    return pattern.apply(value, locale)


@lru_cache(maxsize=16)
def _integers(lang: str) -> tuple[NumberPattern, Locale]:
    return parse_pattern("#,##0"), Locale.parse(lang)


def moment(value: datetime | None, tz: tzinfo, lang: str, *, time: bool = True) -> str:
    """28 nov. 2026, 14:05 / 28 Nov 2026, 14:05 in the viewer's time zone ("" for None)."""
    if value is None:
        return ""
    pattern = "d MMM y, HH:mm" if time else "d MMM y"
    return format_datetime(value, pattern, tzinfo=tz, locale=lang)  # type: ignore[no-any-return]


# Field errors the domain modules raise, in English. A message that matches one of these (its
# placeholders standing for any text, or digits for %(n)d) is said through the catalogue; any
# other is shown as it is. More specific messages come first.
FIELD_ERRORS = (
    N_("is required"),
    N_("cannot be removed"),
    N_("must not be empty"),
    N_("must be a string"),
    N_("must be between 0 and 10 seconds"),
    N_("must be one of: %(choices)s"),
    N_("must be at least %(n)d characters long"),
    N_("must be at least %(n)d"),
    N_("must include a time zone"),
    N_("must be between the years %(start)d and %(end)d"),
    N_("must be true or false"),
    N_("must be 3 to 64 characters from A-Z a-z 0-9 _ -"),
    N_("'%(slug)s' is reserved by Balise"),
    N_("The slug '%(slug)s' is already taken."),
    N_("must be at most %(n)d characters once encoded"),
    N_("must be at most %(n)d characters"),
    N_("must not contain control, invisible or unusual space characters"),
    N_("must not contain backslashes"),
    N_("must not contain control characters"),
    N_("must not contain invisible formatting characters (%(chars)s)"),
    N_("is not a valid URL (%(reason)s)"),
    N_("must be an absolute http:// or https:// URL"),
    N_("must name a host"),
    N_("must not contain a user name or password"),
    N_("the host name is not a valid (internationalised) domain name"),
    N_("the host name contains characters a domain name cannot have"),
    N_("the host is not a valid IPv6 address"),
    N_("the host looks like an IPv4 address but has too many parts"),
    N_("the host looks like an IPv4 address but is not one"),
    N_("the host looks like an IPv4 address but is out of range"),
    N_("must not point at this Balise server (it would loop)"),
    N_("must be an e-mail address"),
    N_("must be 1 to 100 characters"),
    N_("An API key named '%(name)s' already exists."),
    # Link controls (links/controls.py).
    N_("must be before expires_at"),
    N_("needs at least one condition"),
    N_("must be a language tag such as fr"),
    N_("must be two capital letters (FR)"),
    N_("must hold at most %(n)d rules"),
    N_("must be an object of at most %(n)d names"),
    N_("unknown field '%(name)s'"),
    N_("must be an object"),
    N_("must be a list"),
    N_("names must not be empty"),
)
_PLACEHOLDER = re.compile(r"%\((\w+)\)([sd])")


def _pattern(message: str) -> re.Pattern[str]:
    """The messages a msgid stands for: %(x)s is any text, %(x)d digits."""
    regex, end = "", 0
    for found in _PLACEHOLDER.finditer(message):
        value = "[0-9]+" if found[2] == "d" else ".+"
        regex += re.escape(message[end : found.start()]) + f"(?P<{found[1]}>{value})"
        end = found.end()
    return re.compile(regex + re.escape(message[end:]))


_FIELD_PATTERNS = [(_pattern(message), message) for message in FIELD_ERRORS]


def field_message(message: str) -> str:
    """A domain field error in the page's language, with a capital first letter."""
    text = message
    for pattern, msgid in _FIELD_PATTERNS:
        found = pattern.fullmatch(message)
        if found:
            values = {
                name: int(value) if value.isdigit() else value
                for name, value in found.groupdict().items()
            }
            text = gettext(msgid, **values)
            break
    return text[:1].upper() + text[1:]


# pydantic error types (from the API's own schemas) and how the dashboard words them.
_PYDANTIC = {
    "string_too_long": N_("At most %(n)s characters"),
    "too_long": N_("At most %(n)s items"),
    "string_too_short": N_("This field is required"),
    "missing": N_("This field is required"),
    "int_parsing": N_("Enter a whole number"),
    "int_type": N_("Enter a whole number"),
    "greater_than_equal": N_("Must be at least %(n)s"),
    "less_than_equal": N_("Must be at most %(n)s"),
    "literal_error": N_("Choose a value from the list"),
    "timezone_aware": N_("Enter a valid date and time"),
    "datetime_parsing": N_("Enter a valid date and time"),
    "datetime_from_date_parsing": N_("Enter a valid date and time"),
    "string_pattern_mismatch": N_("3 to 64 of A-Z a-z 0-9 _ -"),
}


def pydantic_message(error: dict[str, Any]) -> str:
    """A schema validation error (pydantic) in the page's language."""
    message = _PYDANTIC.get(error.get("type", ""))
    if message is None:
        return field_message(str(error.get("msg", "is invalid")))
    ctx = error.get("ctx") or {}
    limit = ctx.get("max_length", ctx.get("ge", ctx.get("le", "")))
    return gettext(message, n=limit)  # type: ignore[no-any-return]
