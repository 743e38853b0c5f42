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
DEFAULT_SCALE = 8
# Pixels a module, at most. A PNG's cost grows with its pixels (scale 40: about 7 ms of CPU,
# 20: 3.5 ms); 20 gives 500 to 1,300 pixels a side, and the SVG scales to any print size
# for the cost of the smallest one.
MAX_SCALE = {"svg": 40, "png": 20}
BORDER = 4  # modules of quiet zone, as the QR standard asks; not a parameter


def _scale(kind: str) -> int:
    """?scale= clamped to 1..MAX_SCALE[kind]; the default when absent; 400 when not digits."""
    raw = request.args.get("scale", "")
    if not raw:
        return DEFAULT_SCALE
    if not (raw.isascii() and raw.isdigit()):  # '²'.isdigit() is True, int('²') fails
        raise BadRequest("scale must be a whole number.")
    digits = raw.lstrip("0") or "0"
    value = int(digits) if len(digits) <= 3 else MAX_SCALE[kind]
    return min(max(value, 1), MAX_SCALE[kind])


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
    scale = _scale(kind)
    code.save(out, kind=kind, scale=scale, border=BORDER, dark="#000", light="#fff", **options)
    body = out.getvalue()
    if kind == "svg":  # a viewBox lets pages scale the code to any size without cropping
        width, height = code.symbol_size(scale=scale, border=BORDER)
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
