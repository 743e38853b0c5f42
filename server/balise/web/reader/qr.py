"""QR codes of short URLs: GET /<slug>/qr.svg and /<slug>/qr.png (segno).

Registered before the reader blueprint. Any existing link has one (the dashboard shows it for
disabled links too); an unknown slug is the reader's localised 404.
"""

from __future__ import annotations

import hashlib
import io

import segno
from flask import Blueprint, request
from werkzeug.wrappers import Response

from balise.errors import BadRequest, NotFound
from balise.links import store as links
from balise.web.context import state, transaction

bp = Blueprint("qr", __name__)

KINDS = {"svg": "image/svg+xml", "png": "image/png"}


def _scale(kind: str) -> int:
    default = 8
    raw = request.args.get("scale", "")
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):  # '²'.isdigit() is True, int('²') fails
        raise BadRequest("scale must be a whole number from 1 to 40.")
    return min(max(int(raw), 1), 40)


@bp.get("/<slug>/qr.<any(svg, png):kind>")
def qr_code(slug: str, kind: str) -> Response:
    with transaction() as conn:
        link = links.get_link_by_slug(conn, slug)
    if link is None:
        raise NotFound(f"No link with the slug '{slug}'.")
    short_url = state().short_url(link.slug)
    code = segno.make(short_url, error="m", micro=False)
    out = io.BytesIO()
    options = {"svgclass": None, "lineclass": None, "title": short_url} if kind == "svg" else {}
    # Dark on white whatever the viewer's colour scheme: scanners need the contrast.
    code.save(out, kind=kind, scale=_scale(kind), border=4, dark="#000", light="#fff", **options)
    body = out.getvalue()
    if kind == "svg":  # a viewBox lets pages scale the code to any size without cropping
        width, height = code.symbol_size(scale=_scale(kind), border=4)
        body = body.replace(b"<svg ", f'<svg viewBox="0 0 {width} {height}" '.encode(), 1)
    etag = hashlib.sha256(body).hexdigest()[:32]
    response = Response(body, mimetype=KINDS[kind])
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    if request.args.get("download") == "1":
        name = f"{link.slug}-qr.{kind}"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response.make_conditional(request)
