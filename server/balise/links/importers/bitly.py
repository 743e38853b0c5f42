"""Bitly (https://dev.bitly.com): bearer token; GET /v4/user for the `default_group_guid`
(unless a group is given), then GET /v4/groups/{group_guid}/bitlinks?size=N, paged with the
`search_after` value each answer's `pagination` carries.

Answers `{"links": [...], "pagination": {"search_after", "size", "next", "total"...}}`; a
bitlink has `id` (`bit.ly/abc`: the slug is its path), `long_url`, `title`, `tags`,
`created_at` (`2020-01-01T00:00:00+0000`), `archived`. The list carries no click counts
(Bitly gives them per link, one request each, on a monthly request budget): imported links
start with 0 imported clicks. The cursor is the `search_after` of the next page.
"""

from __future__ import annotations

from functools import cached_property

from balise.links.importers.http import PeerClient, PeerError
from balise.links.importers.peer import (
    PAGE_SIZE,
    Answer,
    PagedPeer,
    integer,
    mapping,
    moment,
    need,
    numbered,
    record,
)
from balise.links.transfer import Record


class Bitly(PagedPeer):
    name = "bitly"

    def __init__(self, client: PeerClient, group: str | None = None) -> None:
        self.client = client
        self.group = group

    def group_guid(self) -> str:
        if self.group:
            return self.group
        body = self.client.get_json("/v4/user")
        guid = body.get("default_group_guid") if isinstance(body, dict) else None
        if not isinstance(guid, str) or not guid:
            raise PeerError(f"{self.name}: /v4/user names no default group: pass --group GUID")
        return guid

    @cached_property
    def path(self) -> str:
        return f"/v4/groups/{self.group_guid()}/bitlinks"

    def fetch(self, cursor: str | None) -> Answer:
        params = {"size": PAGE_SIZE, **({"search_after": cursor} if cursor else {})}
        body = self.client.get_json(self.path, params)
        links = need(body, "links", list, self.name, self.path)
        pagination = mapping(body.get("pagination"))
        after = pagination.get("search_after")
        following = after if isinstance(after, str) and after else None
        return Answer(numbered(links), following, integer(pagination.get("total")))

    def to_record(self, where: str, item: object) -> Record:
        if not isinstance(item, dict):
            return Record(where, error="not a bitlink object")
        bitlink = item.get("id")
        slug = bitlink.rsplit("/", 1)[-1] if isinstance(bitlink, str) else None
        tags = item.get("tags") if isinstance(item.get("tags"), list) else []
        return record(
            where,
            slug=slug,
            url=item.get("long_url"),
            title=item.get("title") or None,
            tags=tags,
            created_at=moment(item.get("created_at")),
        )
