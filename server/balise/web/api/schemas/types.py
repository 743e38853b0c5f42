"""Field types every schema shares: text, integers, date-times, dates and time zones, with the
rules of balise.values, so bounds are declared once and shown in the OpenAPI document.

The text rule (values.text_problem: control and invisible format characters; line breaks are
left to the domain, which knows the fields that hold paragraphs) applies wherever a schema takes
a string a person typed.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, AwareDatetime, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from balise import values


def _text(value: str) -> str:
    problem = values.text_problem(value, multiline=True)
    if problem is not None:
        raise PydanticCustomError("text_characters", problem)
    return value


def _instant(value: datetime) -> datetime:
    if not values.in_range(value):
        raise PydanticCustomError("date_range", values.DATE_MESSAGE)
    return value


def _moment(value: str) -> str:
    """An ISO 8601 date or date-time (with or without offset) within the date range."""
    try:
        parsed: date = (
            date.fromisoformat(value)
            if len(value) == 10
            else datetime.fromisoformat(value.replace("Z", "+00:00"))
        )
    except ValueError:
        raise PydanticCustomError(
            "moment_parsing", "must be an ISO 8601 date or date-time"
        ) from None
    day = parsed.date() if isinstance(parsed, datetime) else parsed
    if not values.in_range(day):
        raise PydanticCustomError("date_range", values.DATE_MESSAGE)
    return value


@cache
def zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _zone(value: str) -> str:
    if value not in zones():
        raise PydanticCustomError("time_zone", "unknown time zone '{name}'", {"name": value})
    return value


# Text a person typed: no control characters but tab and line breaks (NUL included). The
# pattern only documents the rule; _text enforces it with a message people can read.
NO_CONTROL = Field(json_schema_extra={"pattern": values.NO_CONTROL_PATTERN})
Text = Annotated[str, AfterValidator(_text), NO_CONTROL]
# The same rule where the domain enforces it, so one answer lists every bad field at once
# (summaries.store.clean: the dashboard and the CLI save summaries through it too).
DomainText = Annotated[str, NO_CONTROL]
# An integer a database INTEGER column holds.
DbInt = Annotated[int, Field(ge=1, le=values.INT_MAX)]
Instant = Annotated[
    AwareDatetime,
    AfterValidator(_instant),
    Field(
        description=f"ISO 8601 date-time with its offset, years {values.MIN_YEAR} to "
        f"{values.MAX_YEAR}."
    ),
]
Moment = Annotated[
    str,
    Field(max_length=40),
    AfterValidator(_moment),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 40,
            "anyOf": [{"format": "date"}, {"format": "date-time"}],
        }
    ),
]
TimeZone = Annotated[
    str,
    Field(max_length=64),
    AfterValidator(_zone),
    WithJsonSchema({"type": "string", "maxLength": 64, "description": "An IANA time zone name."}),
]
