"""Rules for values people send, whatever the feature: text without control or invisible format
characters, dates in a range every time zone can show, integers that fit the database's INTEGER
columns.

The API's schemas (web/api/schemas/types.py) apply these rules to every field, so the API and
the dashboard forms, which validate with the same schemas, refuse the same values with 422.
Domain modules use them too where a value reaches them another way.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timezone

from balise.errors import ValidationFailed

# Dates: year 2000 to 2200 (UTC). Wider values overflow when shown in a zone 14 hours away
# (9999-12-31T23:59:59Z in Pacific/Kiritimati) or when converted to UTC (0001-01-01+14:00).
MIN_YEAR = 2000
MAX_YEAR = 2200
EARLIEST = datetime(MIN_YEAR, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(MAX_YEAR + 1, 1, 1, tzinfo=timezone.utc)  # excluded
DATE_MESSAGE = f"must be between the years {MIN_YEAR} and {MAX_YEAR}"

# PostgreSQL INTEGER (SQLite stores more, but one rule for both backends).
INT_MAX = 2**31 - 1

# The control characters as an ECMA-262 pattern for the OpenAPI document (format characters
# and surrogates are checked by text_problem: JSON Schema patterns cannot name them portably).
NO_CONTROL_PATTERN = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"


# Text: one rule for the text people type into Balise: link titles and tags, summaries, API key
# names and account e-mails.
#
# Refused: control characters (line breaks and tabs only in fields that hold paragraphs),
# surrogates, and invisible format characters (Unicode category Cf: bidirectional overrides,
# embeddings and isolates, zero-width spaces, soft hyphens, byte order marks...), which reverse or
# hide text on pages, in social cards and in lists. Allowed: the zero-width joiner and non-joiner
# (U+200D, U+200C) between two visible characters, because emoji sequences and Persian and Indic
# scripts need them and they neither reorder nor hide text. PostgreSQL refuses NUL in text, so
# the rule also keeps such values from ever reaching a query.
CONTROL = "must not contain control characters"
# Where a field allows paragraphs; summaries.store tidies them.
LINE_BREAKS = frozenset("\t\n\r")
JOINERS = frozenset("\u200c\u200d")
_REFUSED = frozenset({"Cc", "Cf", "Cs"})


def invisible(char: str) -> str:
    """The message for a refused format character or surrogate, naming it."""
    code = f"U+{ord(char):04X} {unicodedata.name(char, '')}".rstrip()
    return f"must not contain invisible formatting characters ({code})"


def _visible(char: str) -> bool:
    return not char.isspace() and unicodedata.category(char) not in _REFUSED


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` is refused (a field error message), or None when it is acceptable."""
    if value.isascii() and value.isprintable():
        return None  # the common case, decided without looking at each character
    for i, char in enumerate(value):
        category = unicodedata.category(char)
        if category not in _REFUSED:
            continue
        if category == "Cc":
            if multiline and char in LINE_BREAKS:
                continue
            return CONTROL
        if category == "Cs":  # an unpaired surrogate: no character at all, no database stores it
            return CONTROL
        if char in JOINERS and 0 < i < len(value) - 1:
            if _visible(value[i - 1]) and _visible(value[i + 1]):
                continue
        return invisible(char)
    return None


def check_text(field: str, value: str, *, multiline: bool = False) -> str:
    """`value` unchanged, or ValidationFailed naming `field`."""
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise ValidationFailed.field(field, problem)
    return value


def in_range(moment: datetime | date) -> bool:
    """True for a date, or an aware date-time, within years MIN_YEAR to MAX_YEAR (UTC)."""
    if not isinstance(moment, datetime):
        return MIN_YEAR <= moment.year <= MAX_YEAR
    return EARLIEST <= moment < LATEST  # aware comparison: no conversion that could overflow
