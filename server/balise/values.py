"""Rules for values people send, whatever the feature: text without control characters, dates
in a range every time zone can show, integers that fit the database's INTEGER columns.

The API's schemas (web/api/schemas/types.py) apply these rules to every field, so the API and
the dashboard forms, which validate with the same schemas, refuse the same values with 422.
Domain modules use them too where a value reaches them another way.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

# Dates: year 2000 to 2200 (UTC). Wider values overflow when shown in a zone 14 hours away
# (9999-12-31T23:59:59Z in Pacific/Kiritimati) or when converted to UTC (0001-01-01+14:00).
MIN_YEAR = 2000
MAX_YEAR = 2200
EARLIEST = datetime(MIN_YEAR, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(MAX_YEAR + 1, 1, 1, tzinfo=timezone.utc)  # excluded
DATE_MESSAGE = f"must be between the years {MIN_YEAR} and {MAX_YEAR}"

# PostgreSQL INTEGER (SQLite stores more, but one rule for both backends).
INT_MAX = 2**31 - 1

# C0 controls but tab, line feed and carriage return; DEL and C1 controls; unpaired surrogates
# (JSON can carry "\ud800", which no database can store). PostgreSQL refuses NUL in text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# The same set as an ECMA-262 pattern for the OpenAPI document (surrogates are left out:
# JSON Schema patterns cannot name unpaired ones portably).
NO_CONTROL_PATTERN = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
CONTROL_MESSAGE = "must not contain control characters"


def has_control(text: str) -> bool:
    """True when `text` holds a character no stored text may hold (NUL, other controls)."""
    return _CONTROL.search(text) is not None


def in_range(moment: datetime | date) -> bool:
    """True for a date, or an aware date-time, within years MIN_YEAR to MAX_YEAR (UTC)."""
    if not isinstance(moment, datetime):
        return MIN_YEAR <= moment.year <= MAX_YEAR
    return EARLIEST <= moment < LATEST  # aware comparison: no conversion that could overflow
