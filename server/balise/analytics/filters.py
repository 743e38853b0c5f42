"""Statistics filters: which clicks a statistics answer counts.

A filter names dimension values (referrer host, browser, OS, device, country, UTM values;
None for "without a value") and link tags. Values of one dimension are alternatives (any of
them); dimensions and tags combine with AND. The same filter reads the click rollups, the
raw clicks (unique visitors) and, for tags, the hourly counters. Pure query building.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true

from balise.db.tables import click_rollups, clicks, link_tags

# API parameter -> dimension (a column of both clicks and click_rollups)
PARAMS = {
    "referrer": "referrer_host",
    "browser": "browser",
    "os": "os",
    "device": "device",
    "country": "country",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
}


@dataclass(frozen=True)
class Filters:
    dims: tuple[tuple[str, tuple[str | None, ...]], ...] = ()  # (dimension, values)
    tags: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, params: Mapping[str, Iterable[str] | None], tags: Iterable[str] | None = ()
    ) -> Filters:
        """From API-style parameters: an empty value stands for "without a value"."""
        dims = []
        for param, dimension in PARAMS.items():
            values = params.get(param)
            if values:
                unique = dict.fromkeys(v.strip() or None for v in values)
                dims.append((dimension, tuple(unique)))
        return cls(tuple(dims), tuple(dict.fromkeys(t for t in tags or () if t)))

    def __bool__(self) -> bool:
        return bool(self.dims or self.tags)

    def one_value(self) -> tuple[str, str | None] | None:
        """(dimension, value) when the filter is one value of one dimension and no tag."""
        if len(self.dims) == 1 and len(self.dims[0][1]) == 1 and not self.tags:
            return self.dims[0][0], self.dims[0][1][0]
        return None

    def as_params(self) -> list[tuple[str, str]]:
        """The filter as query parameters, for URLs that keep it."""
        names = {dimension: param for param, dimension in PARAMS.items()}
        pairs = [(names[d], v or "") for d, values in self.dims for v in values]
        return pairs + [("tag", t) for t in self.tags]

    def rollups(self) -> ColumnElement[bool]:
        """Rollup rows the filter keeps (their absent values are stored as '')."""
        return and_(
            true(),
            *(click_rollups.c[d].in_([v or "" for v in values]) for d, values in self.dims),
            self.links(click_rollups.c.link_id),
        )

    def clicks(self) -> ColumnElement[bool]:
        """Raw clicks the filter keeps."""
        parts = []
        for d, values in self.dims:
            present = [v for v in values if v is not None]
            either = [clicks.c[d].in_(present)] if present else []
            if None in values:
                either.append(clicks.c[d].is_(None))
            parts.append(or_(*either))
        return and_(true(), *parts, self.links(clicks.c.link_id))

    def links(self, column: Any) -> ColumnElement[bool]:
        """Rows of links holding one of the tags (every link without tags in the filter)."""
        if not self.tags:
            return true()
        return column.in_(select(link_tags.c.link_id).where(link_tags.c.tag.in_(self.tags)))


NO_FILTERS = Filters()
