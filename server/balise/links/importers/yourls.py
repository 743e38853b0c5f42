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
from balise.links.importers.peer import Page, count, mapping, moment, record
from balise.links.transfer import Record

PATH = "/yourls-api.php"
PAGE_SIZE = 100


class Yourls:
    name = "yourls"

    def __init__(self, client: PeerClient, signature: str) -> None:
        self.client = client
        self.signature = signature

    def pages(self, cursor: str | None) -> Iterator[Page]:
        start = int(cursor or 0)
        seen: set[str] = set()
        while True:
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
            stats = mapping(body.get("stats"))
            total = count(stats.get("total_links"))
            number = start // PAGE_SIZE + 1
            items = sorted(links.items(), key=lambda kv: _position(kv[0]))
            records = [self._record(f"page {number}, {key}", item) for key, item in items]
            slugs = {str(r.values.get("slug")) for r in records}
            if start and records and slugs <= seen:
                raise PeerError(
                    f"{self.name}: the stats action answered the same links for start={start}: "
                    "this YOURLS ignores `start`, so it can only list its first page; "
                    "upgrade YOURLS and run the same command again"
                )
            seen |= slugs
            start += len(records)
            last = len(records) < PAGE_SIZE
            yield Page(f"page {number}", records, None if last else str(start), total)
            if last:
                return

    @staticmethod
    def _record(where: str, item: object) -> Record:
        if not isinstance(item, dict):
            return Record(where, error="not a link object")
        short = item.get("shorturl")
        slug = unquote(urlsplit(short).path.rsplit("/", 1)[-1]) if isinstance(short, str) else None
        return record(
            where,
            slug=slug,
            url=item.get("url"),
            title=item.get("title") or None,
            created_at=moment(item.get("timestamp"), naive_is_utc=True),
            imported_clicks=count(item.get("clicks")),
        )


def _position(key: str) -> int:
    """link_1, link_2, ... in their order (link_10 after link_9)."""
    number = key.rpartition("_")[2]
    return int(number) if number.isdigit() else 0
