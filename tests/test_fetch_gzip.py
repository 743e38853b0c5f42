"""Compressed bodies cannot get past the fetcher's caps: it counts the bytes it reads off the
wire and the bytes it decodes, both capped at 2 MB, and stops at the end of the gzip member."""

from __future__ import annotations

import gzip
import time
import zlib

import pytest

from balise.summaries import fetch
from tests.local_servers import ARTICLE, endless, send, serving
from tests.test_summaries_drafting import LOCAL, PROBLEM, draft, make_client, options

__all__ = ["make_client"]  # the fixture, shared with the drafting tests


def _gzip_member(data: bytes) -> tuple[bytes, bytes]:
    """A gzip member of `data` split as (header and body, empty stored block to repeat)."""
    packer = zlib.compressobj(wbits=31)
    head = packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)
    return head, packer.flush(zlib.Z_FULL_FLUSH)


MEGABYTE = 1024 * 1024


def written(sent: list[int]) -> int:
    """The bytes an `endless` route wrote, once it noticed the fetcher hung up (10 s at most)."""
    deadline = time.monotonic() + 10
    while not sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sent, "the server was still writing 10 s after the fetcher returned"
    return sent[0]


def test_endless_empty_gzip_blocks_stop_at_2_mb_on_the_wire(make_client, make_link, editor_headers):
    head, empty_block = _gzip_member(b"")
    sent: list[int] = []
    client = make_client(FETCH_ALLOW_PRIVATE=True, FETCH_TIMEOUT=15)
    route = endless(head, empty_block * 13_000, sent, limit=200 * MEGABYTE, Content_Encoding="gzip")
    with serving({"/empty": route}) as server:
        make_link(slug="empty1", url=server.url + "/empty")
        r = draft(client, "empty1", editor_headers)
    assert r.status_code == 502 and r.headers["Content-Type"] == PROBLEM
    assert r.get_json()["detail"] == "The page's first 2 MB decode to nothing."
    # What the server wrote beyond 2 MB sat in socket buffers when the fetcher hung up.
    assert written(sent) < 64 * MEGABYTE


def test_a_gzip_member_followed_by_junk_is_read_up_to_its_end(
    make_client, make_link, editor_headers
):
    member = gzip.compress(ARTICLE.encode())
    sent: list[int] = []
    client = make_client(FETCH_ALLOW_PRIVATE=True, FETCH_TIMEOUT=15)
    junk = bytes(range(256)) * 256
    route = endless(member, junk, sent, limit=200 * MEGABYTE, Content_Encoding="gzip")
    with serving({"/junk": route}) as server:
        make_link(slug="junk1", url=server.url + "/junk")
        r = draft(client, "junk1", editor_headers)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["title"] == "La ville plantera 10 000 arbres d'ici 2030"
    assert written(sent) < 64 * MEGABYTE


def test_a_corrupt_gzip_body_is_a_502():
    with serving(
        {"/bad": lambda h: send(h, 200, b"not gzip at all", Content_Encoding="gzip")}
    ) as server:
        with pytest.raises(fetch.FetchFailed, match="gzip body is corrupt"):
            fetch.fetch_page(server.url + "/bad", options(allowed_networks=LOCAL))


def test_a_gzip_bomb_is_cut_at_2_mb_decoded():
    bomb = gzip.compress(b"<html><body>" + b"\0" * (20 * MEGABYTE), compresslevel=9)
    with serving({"/bomb": lambda h: send(h, 200, bomb, Content_Encoding="gzip")}) as server:
        found = fetch.fetch_page(server.url + "/bomb", options(allowed_networks=LOCAL))
    assert found.truncated and len(found.body) == fetch.MAX_BYTES
