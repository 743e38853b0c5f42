"""Static page assets inlined into pages, and the CSP that allows exactly them by hash.

Inlining saves readers a request on the hot path; hashing (instead of a per-request nonce)
keeps the reader page identical for every request to the same link.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path

ASSETS = Path(__file__).parent / "assets"


@cache
def text(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@cache
def page_csp(*scripts: str) -> str:
    """CSP for a Balise page with the inline stylesheet and the named inline scripts."""
    script_src = " ".join(csp_hash(text(s)) for s in scripts) or "'none'"
    return (
        "default-src 'none'; "
        f"script-src {script_src}; "
        f"style-src {csp_hash(text('page.css'))}; "
        "img-src 'self' https: data:; "
        "connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
