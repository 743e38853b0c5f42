"""YOURLS (https://yourls.org): yourls-api.php, authenticated by the `signature` token.

Core YOURLS has no action that lists links. This importer uses the core `stats` action, which
lists them: `action=stats&filter=last&limit=N&start=OFFSET&format=json&signature=TOKEN`
(`start` is read by yourls_api_action_stats and passed to yourls_get_stats as the SQL offset;
a YOURLS that ignores it answers the first page again, which stops the import with one line;
`filter=last` orders by creation time, newest first). It answers `{"links": {"link_1":
{"shorturl", "url", "title", "timestamp", "ip", "clicks"}, ...}, "stats": {"total_links",
"total_clicks"}, "statusCode": 200, "message": "success"}`; `links` is absent past the last
link. No plugin is needed. YOURLS has no tags; its timestamps carry no zone and are read as
UTC. A refused signature answers 403 ("Please log in"). The cursor is the next offset.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

from balise.links.importers.http import PeerClient, PeerError
from balise.links.importers.peer import Answer, Page, PagedPeer, count, mapping, moment, record
from balise.links.transfer import Record

PATH = "/yourls-api.php"
PAGE_SIZE = 100


class Yourls(PagedPeer):
    name = "yourls"

    def __init__(self, client: PeerClient, signature: str) -> None:
        self.client = client
        self.signature = signature
        self.seen: set[str] = set()  # slugs read so far by pages()

    def pages(self, cursor: str | None) -> Iterator[Page]:
        self.seen = set()
        return super().pages(cursor)

    def first_number(self, cursor: str | None) -> int:
        return int(cursor or 0) // PAGE_SIZE + 1

    def fetch(self, cursor: str | None) -> Answer:
        start = int(cursor or 0)
        params = {
            "action": "stats",
            "filter": "last",
            "limit": PAGE_SIZE,
            "start": start,
            "format": "json",
            "signature": self.signature,
        }
        body = self.client.get_json(PATH, params)
        if not isinstance(body, dict) or body.get("message") not in ("success", None):
            said = body.get("message") if isinstance(body, dict) else body
            raise PeerError(f"{self.name}: {PATH} answered {said!r}")
        links = body.get("links") or {}
        if not isinstance(links, dict):
            raise PeerError(f"{self.name}: {PATH} answered without the expected 'links'")
        items = sorted(links.items(), key=lambda kv: _position(kv[0]))
        slugs = {str(_slug(item)) for _key, item in items}
        if start and items and slugs <= self.seen:
            raise PeerError(
                f"{self.name}: the stats action answered the same links for start={start}: "
                "this YOURLS ignores `start`, so it can only list its first page; "
                "upgrade YOURLS and run the same command again"
            )
        self.seen |= slugs
        following = str(start + len(items)) if len(items) >= PAGE_SIZE else None
        return Answer(items, following, count(mapping(body.get("stats")).get("total_links")))

    def to_record(self, where: str, item: object) -> Record:
        if not isinstance(item, dict):
            return Record(where, error="not a link object")
        return record(
            where,
            slug=_slug(item),
            url=item.get("url"),
            title=item.get("title") or None,
            created_at=moment(item.get("timestamp"), naive_is_utc=True),
            imported_clicks=count(item.get("clicks")),
        )


def _slug(item: object) -> str | None:
    """The slug of a link: the last segment of its `shorturl`."""
    short = item.get("shorturl") if isinstance(item, dict) else None
    return unquote(urlsplit(short).path.rsplit("/", 1)[-1]) if isinstance(short, str) else None


def _position(key: str) -> int:
    """link_1, link_2, ... in their order (link_10 after link_9)."""
    number = key.rpartition("_")[2]
    return int(number) if number.isdigit() else 0
