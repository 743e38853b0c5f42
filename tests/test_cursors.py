"""Cursors from clients are untrusted: numbers a database cannot hold are a 400, never a 500."""

from __future__ import annotations

import base64

import pytest


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("raw", [b"id:99999999999999999999", b"id:-1", b"id:9223372036854775808"])
def test_an_api_cursor_out_of_range_is_a_400(client, viewer_headers, raw):
    r = client.get(f"/api/v1/links?cursor={encode(raw)}", headers=viewer_headers)
    assert r.status_code == 400
    assert r.mimetype == "application/problem+json"
