"""What every peer importer shares: a page of records, the paging loop, and reading the
peers' values."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from balise.links.importers.http import PeerError
from balise.links.transfer import Record

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """One page of a peer's links: `next_cursor` says where the next one starts (None after
    the last); `total` is the number of links the peer says it holds, when it says."""

    label: str
    records: list[Record]
    next_cursor: str | None
    total: int | None = None


class Peer(Protocol):
    name: str

    def pages(self, cursor: str | None) -> Iterator[Page]:
        """The pages from `cursor` (None: the first page) to the last."""


@dataclass(frozen=True)
class Answer:
    """What one page request told: its items, each with the name it is reported under; the
    cursor of the next page (None: the peer says this one is the last); the number of links
    the peer holds, when it says."""

    items: list[tuple[str, object]]
    next_cursor: str | None
    total: int | None = None


class PagedPeer:
    """A peer read page by page with one loop (pages()); each importer gives only what
    differs: fetch() (the page request, and where the next page starts), to_record() (the
    mapping of an item) and first_number() (the number of the page a cursor names)."""

    name: str

    def fetch(self, cursor: str | None) -> Answer:
        raise NotImplementedError

    def to_record(self, where: str, item: object) -> Record:
        raise NotImplementedError

    def first_number(self, cursor: str | None) -> int:
        return 1

    def pages(self, cursor: str | None) -> Iterator[Page]:
        """The pages from `cursor` to the last: an empty page is the last whatever the peer
        says, and a peer that names the page it was asked for as the next one (which would
        page forever) stops the import with one line."""
        number = self.first_number(cursor)
        while True:
            answer = self.fetch(cursor)
            label = f"page {number}"
            records = [self.to_record(f"{label}, {key}", item) for key, item in answer.items]
            following = answer.next_cursor if records else None
            if following is not None and following == cursor:
                raise PeerError(
                    f"{self.name}: {label} names itself as the next page ({following!r}): "
                    "the import stops rather than read it forever"
                )
            yield Page(label, records, following, answer.total)
            if following is None:
                return
            cursor, number = following, number + 1


def numbered(items: list[Any]) -> list[tuple[str, object]]:
    """Items named `item 1`, `item 2`... in the order the peer gave them."""
    return [(f"item {i}", item) for i, item in enumerate(items, 1)]


def integer(value: object) -> int | None:
    """A number the peer sends as a JSON integer (never a boolean)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def moment(value: object, *, naive_is_utc: bool = False) -> datetime | None:
    """A peer's date (ISO 8601, `+0000` offsets included) as an aware datetime, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace(" ", "T", 1)
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        try:  # Python 3.10 reads no `+0000` offset (Bitly's) in fromisoformat
            found = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return None
    if found.tzinfo is None:
        return found.replace(tzinfo=timezone.utc) if naive_is_utc else None
    return found


def mapping(value: object) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def count(value: object) -> int | None:
    """A visit total (YOURLS sends numbers as strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def need(body: Any, key: str, kind: type, peer: str, path: str) -> Any:
    """body[key] when it is a `kind`; otherwise the answer is not the documented one."""
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, kind):
        raise PeerError(f"{peer}: {path} answered without the expected '{key}' ({kind.__name__})")
    return value


def record(where: str, **values: Any) -> Record:
    """A record of the fields that have a value."""
    return Record(where, {k: v for k, v in values.items() if v is not None and v != []})
