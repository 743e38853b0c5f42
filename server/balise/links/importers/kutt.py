"""Kutt (https://github.com/thedevs-network/kutt): GET /api/v2/links, header X-API-KEY.

Answers `{"total", "limit", "skip", "data": [link...]}`, newest first; a link has `address`
(the slug), `target`, `description`, `created_at`, `expire_in` (expiry date or null),
`visit_count`, `banned`, `password` (true when protected). Kutt has no tags. The cursor is
the `skip` offset of the next page.
"""

from __future__ import annotations

from balise.links.importers.http import PeerClient
from balise.links.importers.peer import (
    PAGE_SIZE,
    Answer,
    PagedPeer,
    count,
    integer,
    moment,
    need,
    numbered,
    record,
)
from balise.links.transfer import Record

PATH = "/api/v2/links"


class Kutt(PagedPeer):
    name = "kutt"

    def __init__(self, client: PeerClient) -> None:
        self.client = client

    def first_number(self, cursor: str | None) -> int:
        return int(cursor or 0) // PAGE_SIZE + 1

    def fetch(self, cursor: str | None) -> Answer:
        skip = int(cursor or 0)
        body = self.client.get_json(PATH, {"limit": PAGE_SIZE, "skip": skip})
        data = need(body, "data", list, self.name, PATH)
        total = integer(body.get("total"))
        skip += len(data)
        last = total is not None and skip >= total
        return Answer(numbered(data), None if last else str(skip), total)

    def to_record(self, where: str, item: object) -> Record:
        if not isinstance(item, dict):
            return Record(where, error="not a link object")
        if item.get("password") is True:
            # Importing it would open to everyone a link its owner protected.
            return Record(
                where,
                {"slug": item.get("address")},
                error="protected by a password in Kutt, which its API never reveals: not imported",
            )
        return record(
            where,
            slug=item.get("address"),
            url=item.get("target"),
            title=item.get("description") or None,
            created_at=moment(item.get("created_at")),
            expires_at=moment(item.get("expire_in")),
            disabled=True if item.get("banned") is True else None,
            imported_clicks=count(item.get("visit_count")),
        )
