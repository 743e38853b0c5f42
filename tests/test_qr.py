"""QR codes of short links at /<slug>/qr.svg and /<slug>/qr.png."""

from __future__ import annotations

import struct

import segno


def test_svg_qr_code_of_the_short_url(client, make_link):
    make_link(slug="Promo")
    r = client.get("/promo/qr.svg")
    assert r.status_code == 200
    assert r.mimetype == "image/svg+xml"
    body = r.get_data(as_text=True)
    assert "<title>https://s.test/Promo</title>" in body
    size = segno.make("https://s.test/Promo", error="m", micro=False).symbol_size(scale=8)
    assert f'viewBox="0 0 {size[0]} {size[1]}"' in body
    assert r.headers["Cache-Control"] == "public, max-age=3600"
    assert r.headers["Content-Security-Policy"] == "default-src 'none'"


def test_png_qr_code_has_the_requested_scale(client, make_link):
    make_link(slug="promo")
    r = client.get("/promo/qr.png?scale=4&download=1")
    assert r.status_code == 200 and r.mimetype == "image/png"
    png = r.get_data()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    side = segno.make("https://s.test/promo", error="m", micro=False).symbol_size(scale=4)[0]
    assert width == height == side
    assert r.headers["Content-Disposition"] == 'attachment; filename="promo-qr.png"'


def test_qr_code_answers_304_to_a_matching_etag(client, make_link):
    make_link(slug="promo")
    etag = client.get("/promo/qr.svg").headers["ETag"]
    assert client.get("/promo/qr.svg", headers={"If-None-Match": etag}).status_code == 304


def test_qr_code_of_an_unknown_slug_is_the_localised_404(client):
    r = client.get("/nothing/qr.png", headers={"Accept-Language": "en"})
    assert r.status_code == 404
    assert r.mimetype == "text/html"
    assert "Link not found" in r.get_data(as_text=True)


def test_qr_code_exists_for_a_disabled_link(client, make_link):
    make_link(slug="paused", disabled=True)
    assert client.get("/paused/qr.svg").status_code == 200
    assert client.get("/paused").status_code == 410
