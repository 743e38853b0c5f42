"""Helpers for the click tests: the app's recorder, a settable clock, rows as dicts."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, Table, select

from balise.analytics.recorder import Recorder


def recorder(app: Any) -> Recorder:
    return app.extensions["balise"].services["clicks"]  # type: ignore[no-any-return]


def flushed(app: Any) -> None:
    """Wait until the app's recorder has stored everything buffered so far."""
    assert recorder(app).flush(timeout=30), "the click writer did not flush within 30 s"


class Clock:
    """A clock a test moves by hand (injected as the recorder's clock)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def set_clock(app: Any, when: datetime) -> Clock:
    clock = Clock(when.astimezone(timezone.utc))
    recorder(app).clock = clock
    return clock


def rows(db: Engine, table: Table) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(*table.primary_key))]


def token_in(html: str) -> str:
    found = re.search(r'data-token="([^"]*)"', html)
    assert found, "the reader page has no beacon script"
    return found.group(1)
