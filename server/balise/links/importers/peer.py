"""What every peer importer shares: a page of records, and reading the peers' values."""

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
