"""Filters on the stats pages: read from the page's URL, shown as removable chips, and added
by clicking an entry of a top list. The URL keeps them, so a filtered page can be shared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask_babel import gettext as _

from balise.analytics.filters import PARAMS, Filters
from balise.web.dashboard.labels import label

# Top list -> the filter parameter its entries set
TOP_PARAMS = {
    "referrers": "referrer",
    "countries": "country",
    "devices": "device",
    "browsers": "browser",
    "os": "os",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
}
_TOP_OF = {param: top for top, param in TOP_PARAMS.items()}
MAX_VALUES = 20  # per parameter, as in the API


def filters_from(args: Any) -> Filters:
    """The page's filters; values beyond the API's bounds are dropped, not refused."""
    params = {p: [v[:255] for v in args.getlist(p)][:MAX_VALUES] for p in PARAMS}
    return Filters.of(params, [t[:50] for t in args.getlist("tag")][:MAX_VALUES])


def value_text(param: str, value: str | None) -> str:
    """How a filtered value reads on the page."""
    if value is None:
        return _("Direct / unknown") if param == "referrer" else _("None / unknown")
    if param == "device":
        return label("device", value)
    return value


@dataclass(frozen=True)
class Chip:
    name: str  # what is filtered
    value: str  # the value, as it reads
    remove_url: str  # the page without this filter


class PageFilters:
    """URLs of one stats page with its range arguments and filters."""

    def __init__(self, base: str, range_args: dict[str, str], filters: Filters) -> None:
        self.base = base
        self.range_args = list(range_args.items())
        self.pairs = filters.as_params()

    def url(self, pairs: list[tuple[str, str]]) -> str:
        query = urlencode(self.range_args + pairs)
        return f"{self.base}?{query}" if query else self.base

    def adding(self, top: str, value: str | None) -> str | None:
        """The page filtered on a top list's entry too (None when it cannot filter)."""
        param = TOP_PARAMS.get(top)
        if param is None:
            return None
        pair = (param, value or "")
        return self.url(self.pairs if pair in self.pairs else [*self.pairs, pair])

    def chips(self) -> list[Chip]:
        found = []
        for pair in self.pairs:
            param, value = pair
            rest = [p for p in self.pairs if p != pair]
            if param == "tag":
                name, text = _("Tag"), value
            else:
                name, text = label("top", _TOP_OF[param]), value_text(param, value or None)
            found.append(Chip(name, text, self.url(rest)))
        return found

    def cleared(self) -> str:
        return self.url([])
