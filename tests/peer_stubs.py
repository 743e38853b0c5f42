"""Stubs of other shorteners' REST APIs on 127.0.0.1, answering as each one documents.

- Kutt: GET /api/v2/links?limit=&skip= (header X-API-KEY) -> {"total", "limit", "skip",
  "data": [...]}, newest first; 401 {"error": "Unauthorized"}.
- Shlink: GET /rest/v3/short-urls?page=&itemsPerPage=&orderBy= (header X-Api-Key) ->
  {"shortUrls": {"data", "pagination"}}; 401 application/problem+json (INVALID_API_KEY).
- YOURLS: GET /yourls-api.php?action=stats&filter=last&limit=&start=&format=json&signature=
  -> {"links": {"link_1": {...}}, "stats", "statusCode", "message"}; 403 "Please log in".
- Bitly: GET /v4/user (Bearer) -> {"default_group_guid"}; GET /v4/groups/<guid>/bitlinks?
  size=&search_after= -> {"links", "pagination": {"search_after", "size", "total"}}; 403.

`script` holds answers given before the normal ones (a 429 with Retry-After, a 503, a body
that is not JSON...), each for the request number it names; `requests` records each request.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

KEY = "peer-secret-key"
GROUP = "Bg7Ab1cD2eF"


@dataclass
class PeerLink:
    slug: str
    url: str
    title: str | None = None
    tags: list[str] = field(default_factory=list)
    created: datetime = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    visits: int = 0


def sample_links(count: int, *, bad: int | None = None) -> list[PeerLink]:
    """`count` links, one a second apart; link number `bad` leads to a javascript: URL."""
    start = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    found = []
    for i in range(count):
        url = "javascript:alert(1)" if i == bad else f"https://example.org/article/{i}"
        found.append(
            PeerLink(
                slug=f"peer{i:03d}",
                url=url,
                title=f"Article {i}",
                tags=["imported", f"t{i % 3}"],
                created=start + timedelta(seconds=i),
                visits=i * 10,
            )
        )
    return found


class PeerStub:
    def __init__(self, peer: str, links: list[PeerLink]) -> None:
        self.peer = peer
        self.links = links
        self.script: dict[int, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                with stub._lock:
                    stub.requests.append((parts.path, query))
                    number = len(stub.requests)
                scripted = stub.script.get(number)
                if scripted is not None:
                    self._send(*scripted)
                    return
                self._send(*stub.answer(parts.path, query, self.headers))

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> PeerStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str, query: dict[str, str], headers: Any) -> tuple[int, dict, bytes]:
        return getattr(self, f"_{self.peer}")(path, query, headers)

    # Kutt ------------------------------------------------------------------------------
    def _kutt(self, path: str, query: dict[str, str], headers: Any) -> tuple[int, dict, bytes]:
        if headers.get("X-API-KEY") != KEY:
            return _json(401, {"error": "Unauthorized"})
        if path != "/api/v2/links":
            return _json(404, {"error": "Not found"})
        limit, skip = min(int(query.get("limit", 10)), 50), int(query.get("skip", 0))
        newest = sorted(self.links, key=lambda link: link.created, reverse=True)
        data = [
            {
                "id": f"00000000-0000-4000-8000-{n:012d}",
                "address": link.slug,
                "banned": False,
                "created_at": _iso(link.created),
                "updated_at": _iso(link.created),
                "password": False,
                "description": link.title,
                "expire_in": None,
                "target": link.url,
                "visit_count": link.visits,
                "domain": None,
                "link": f"https://kutt.test/{link.slug}",
            }
            for n, link in enumerate(newest[skip : skip + limit])
        ]
        return _json(200, {"total": len(self.links), "limit": limit, "skip": skip, "data": data})

    # Shlink ----------------------------------------------------------------------------
    def _shlink(self, path: str, query: dict[str, str], headers: Any) -> tuple[int, dict, bytes]:
        if headers.get("X-Api-Key") != KEY:
            problem = {
                "type": "https://shlink.io/api/error/invalid-api-key",
                "title": "Invalid API key",
                "detail": "Provided API key does not exist or is invalid.",
                "status": 401,
            }
            return 401, {"Content-Type": "application/problem+json"}, json.dumps(problem).encode()
        if path != "/rest/v3/short-urls":
            return _json(404, {"title": "Not found", "status": 404, "detail": "Not found"})
        page, size = int(query.get("page", 1)), int(query.get("itemsPerPage", 10))
        ordered = sorted(self.links, key=lambda link: link.created)
        if query.get("orderBy") == "dateCreated-DESC":
            ordered.reverse()
        chunk = ordered[(page - 1) * size : page * size]
        pages = max(1, -(-len(ordered) // size))
        data = [
            {
                "shortCode": link.slug,
                "shortUrl": f"https://s.shlink.test/{link.slug}",
                "longUrl": link.url,
                "deviceLongUrls": {"android": None, "ios": None, "desktop": None},
                "dateCreated": link.created.astimezone(timezone(timedelta(hours=2))).isoformat(),
                "visitsSummary": {"total": link.visits, "nonBots": link.visits, "bots": 0},
                "tags": link.tags,
                "meta": {"validSince": None, "validUntil": None, "maxVisits": None},
                "domain": None,
                "title": link.title,
                "crawlable": False,
                "forwardQuery": True,
            }
            for link in chunk
        ]
        pagination = {
            "currentPage": page,
            "pagesCount": pages,
            "itemsPerPage": size,
            "itemsInCurrentPage": len(data),
            "totalItems": len(ordered),
        }
        return _json(200, {"shortUrls": {"data": data, "pagination": pagination}})

    # YOURLS ----------------------------------------------------------------------------
    def _yourls(self, path: str, query: dict[str, str], headers: Any) -> tuple[int, dict, bytes]:
        if path != "/yourls-api.php":
            return 404, {"Content-Type": "text/html"}, b"<h1>Not Found</h1>"
        if query.get("signature") != KEY:
            return _json(403, {"message": "Please log in", "errorCode": 403})
        if query.get("action") != "stats" or query.get("format") != "json":
            return _json(400, {"message": "Unknown or missing action", "errorCode": 400})
        limit, start = int(query.get("limit", 10)), int(query.get("start", 0))
        newest = sorted(self.links, key=lambda link: link.created, reverse=True)
        body: dict[str, Any] = {}
        for i, link in enumerate(newest[start : start + limit], 1):
            body.setdefault("links", {})[f"link_{i}"] = {
                "shorturl": f"https://yourls.test/{link.slug}",
                "url": link.url,
                "title": link.title,
                "timestamp": link.created.strftime("%Y-%m-%d %H:%M:%S"),
                "ip": "192.0.2.1",
                "clicks": str(link.visits),
            }
        total_clicks = sum(link.visits for link in self.links)
        body["stats"] = {"total_links": str(len(self.links)), "total_clicks": str(total_clicks)}
        body.update(statusCode=200, message="success")
        return _json(200, body)

    # Bitly -----------------------------------------------------------------------------
    def _bitly(self, path: str, query: dict[str, str], headers: Any) -> tuple[int, dict, bytes]:
        if headers.get("Authorization") != f"Bearer {KEY}":
            return _json(403, {"message": "FORBIDDEN", "description": "Invalid access token."})
        if path == "/v4/user":
            return _json(200, {"login": "someone", "default_group_guid": GROUP})
        if path != f"/v4/groups/{GROUP}/bitlinks":
            return _json(404, {"message": "NOT_FOUND", "resource": "groups"})
        size = int(query.get("size", 50))
        newest = sorted(self.links, key=lambda link: link.created, reverse=True)
        start = int(query["search_after"].removeprefix("after-")) if "search_after" in query else 0
        chunk = newest[start : start + size]
        more = start + size < len(newest)
        links = [
            {
                "created_at": link.created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                "id": f"bit.ly/{link.slug}",
                "link": f"https://bit.ly/{link.slug}",
                "custom_bitlinks": [],
                "long_url": link.url,
                "title": link.title,
                "archived": False,
                "created_by": "someone",
                "client_id": "",
                "tags": link.tags,
                "deeplinks": [],
                "references": {"group": f"https://api-ssl.bitly.com/v4/groups/{GROUP}"},
            }
            for link in chunk
        ]
        pagination = {
            "search_after": f"after-{start + size}" if more else "",
            "size": size,
            "prev": "",
            "next": "",
            "total": len(newest),
        }
        return _json(200, {"links": links, "pagination": pagination})


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", ".000Z")


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {}, json.dumps(body).encode()
