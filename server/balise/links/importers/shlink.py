"""Shlink (https://shlink.io): GET /rest/v3/short-urls?page=N&itemsPerPage=M, header X-Api-Key.

Answers `{"shortUrls": {"data": [...], "pagination": {"currentPage", "pagesCount",
"itemsPerPage", "itemsInCurrentPage", "totalItems"}}}`; a short URL has `shortCode` (the slug),
`longUrl`, `title`, `tags`, `dateCreated`, `visitsSummary` (`total`, `nonBots`, `bots`),
`meta` (`validSince`, `validUntil`, `maxVisits`) and `forwardQuery`. Errors are
application/problem+json. The cursor is the next page number.
"""

from __future__ import annotations

from collections.abc import Iterator

from balise.links.importers.http import PeerClient
from balise.links.importers.peer import PAGE_SIZE, Page, count, mapping, moment, need, record
from balise.links.transfer import Record

PATH = "/rest/v3/short-urls"


class Shlink:
    name = "shlink"

    def __init__(self, client: PeerClient) -> None:
        self.client = client

    def pages(self, cursor: str | None) -> Iterator[Page]:
        number = int(cursor or 1)
        while True:
            body = self.client.get_json(
                PATH, {"page": number, "itemsPerPage": PAGE_SIZE, "orderBy": "dateCreated-ASC"}
            )
            found = need(body, "shortUrls", dict, self.name, PATH)
            data = need(found, "data", list, self.name, PATH)
            pagination = mapping(found.get("pagination"))
            pages = pagination.get("pagesCount")
            total = pagination.get("totalItems")
            records = [
                self._record(f"page {number}, item {i}", item) for i, item in enumerate(data, 1)
            ]
            last = not data or not isinstance(pages, int) or number >= pages
            yield Page(
                f"page {number}",
                records,
                None if last else str(number + 1),
                total if isinstance(total, int) else None,
            )
            if last:
                return
            number += 1

    @staticmethod
    def _record(where: str, item: object) -> Record:
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
