"""Creating many links in one request: chunked transactions, one outcome per item, in order.

Items are created in chunks of CHUNK_SIZE, one transaction each: a chunk commits as a whole
(its links, tags, summaries and link.created events), so a failure of the database loses at
most the chunk under way, never part of a link. A refused item (422 invalid, 409 slug taken)
does not stop the others: `create` refuses before it writes anything (links.store.create_link
checks every field, then inserts with ON CONFLICT DO NOTHING), so the transaction goes on. Two
items of one request asking for the same slug: the first gets it, the later one a 409.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

from balise.errors import Problem, ValidationFailed

MAX_ITEMS = 1000
CHUNK_SIZE = 100
T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """One item's result: 201 with what `create` returned, or a refusal with its errors."""

    status: int
    created: T | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    detail: str | None = None


def refusal(problem: Problem) -> Outcome[Any]:
    """A refused item as the single create's problem+json says it: its field errors (a 409
    names the slug, a 429 the item)."""
    if isinstance(problem, ValidationFailed):
        errors = list(problem.errors)
    elif problem.status == 409:
        errors = [{"field": "slug", "message": problem.detail}]
    else:
        errors = [{"field": "item", "message": problem.detail}]
    return Outcome(problem.status, errors=errors, detail=problem.detail)


def _chunks(size: int, count: int) -> Iterator[range]:
    for start in range(0, count, size):
        yield range(start, min(start + size, count))


def create_all(
    begin: Callable[[], AbstractContextManager[Connection]],
    items: Sequence[Mapping[str, Any] | Outcome[T]],
    create: Callable[[Connection, Mapping[str, Any]], T],
    *,
    chunk_size: int = CHUNK_SIZE,
) -> list[Outcome[T]]:
    """Create each item (a values mapping) with `create(conn, values)`, in chunked transactions;
    an item that is already an Outcome (refused beforehand) is passed through in its place."""
    outcomes: list[Outcome[T] | None] = [
        item if isinstance(item, Outcome) else None for item in items
    ]
    for chunk in _chunks(max(1, chunk_size), len(items)):
        todo = [i for i in chunk if outcomes[i] is None]
        if not todo:
            continue
        done: dict[int, Outcome[T]] = {}
        with begin() as conn:
            for i in todo:
                values = items[i]
                assert not isinstance(values, Outcome)  # noqa: S101 - filtered just above
                try:
                    done[i] = Outcome(201, created=create(conn, values))
                except Problem as exc:  # refused before it wrote: the chunk goes on
                    done[i] = refusal(exc)
        for i, outcome in done.items():  # only once the chunk committed
            outcomes[i] = outcome
    return [outcome for outcome in outcomes if outcome is not None]
