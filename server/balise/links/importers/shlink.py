"""Shlink (https://shlink.io): GET /rest/v3/short-urls?page=N&itemsPerPage=M, header X-Api-Key.

Answers `{"shortUrls": {"data": [...], "pagination": {"currentPage", "pagesCount",
"itemsPerPage", "itemsInCurrentPage", "totalItems"}}}`; a short URL has `shortCode` (the slug),
`longUrl`, `title`, `tags`, `dateCreated`, `visitsSummary` (`total`, `nonBots`, `bots`),
`meta` (`validSince`, `validUntil`, `maxVisits`) and `forwardQuery`. Errors are
application/problem+json. The cursor is the next page number.
"""

from __future__ import annotations

from balise.links.importers.http import PeerClient
from balise.links.importers.peer import (
    PAGE_SIZE,
    Answer,
    PagedPeer,
    count,
    integer,
    mapping,
    moment,
    need,
    numbered,
    record,
)
from balise.links.transfer import Record

PATH = "/rest/v3/short-urls"


class Shlink(PagedPeer):
    name = "shlink"

    def __init__(self, client: PeerClient) -> None:
        self.client = client

    def first_number(self, cursor: str | None) -> int:
        return int(cursor or 1)

    def fetch(self, cursor: str | None) -> Answer:
        number = self.first_number(cursor)
        body = self.client.get_json(
            PATH, {"page": number, "itemsPerPage": PAGE_SIZE, "orderBy": "dateCreated-ASC"}
        )
        found = need(body, "shortUrls", dict, self.name, PATH)
        data = need(found, "data", list, self.name, PATH)
        pagination = mapping(found.get("pagination"))
        pages = integer(pagination.get("pagesCount"))
        more = pages is not None and number < pages
        return Answer(
            numbered(data),
            str(number + 1) if more else None,
            integer(pagination.get("totalItems")),
        )

    def to_record(self, where: str, item: object) -> Record:
        if not isinstance(item, dict):
            return Record(where, error="not a short URL object")
        meta = mapping(item.get("meta"))
        visits = mapping(item.get("visitsSummary"))
        tags = item.get("tags") if isinstance(item.get("tags"), list) else []
        return record(
            where,
            slug=item.get("shortCode"),
            url=item.get("longUrl"),
            title=item.get("title") or None,
            tags=tags,
            created_at=moment(item.get("dateCreated")),
            expires_at=moment(meta.get("validUntil")),
            max_clicks=count(meta.get("maxVisits")),
            # Fields Balise takes once it has them (reported as ignored until then).
            valid_from=moment(meta.get("validSince")),
            forward_query=item.get("forwardQuery")
            if isinstance(item.get("forwardQuery"), bool)
            else None,
            imported_clicks=count(visits.get("total", item.get("visitsCount"))),
        )
