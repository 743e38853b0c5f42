"""What a fetched page says about itself (title, description, image, language) and its main text.

Drafts are made from it (drafting.py, llm.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import lxml.html

from balise.links.store import LANGS
from balise.summaries.fetch import Page

_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class Article:
    """What a page says about itself, and its main text."""

    url: str
    lang: str | None
    title: str | None
    description: str | None
    image: str | None
    text: str


def read_article(page: Page) -> Article:
    """Metadata from the page's head, main text with trafilatura (boilerplate left out)."""
    import trafilatura  # heavy; only drafting needs it

    html = _decode(page)
    tree = lxml.html.document_fromstring(html)
    meta = _meta(tree)
    title = meta.get("og:title") or meta.get("twitter:title") or _text_of(tree, "//title")
    description = (
        meta.get("og:description") or meta.get("description") or meta.get("twitter:description")
    )
    image = meta.get("og:image:secure_url") or meta.get("og:image") or meta.get("twitter:image")
    lang = (tree.get("lang") or meta.get("og:locale") or "")[:2].lower()
    text = trafilatura.extract(html, url=page.url, include_comments=False, include_tables=False)
    return Article(
        url=page.url,
        lang=lang if lang in LANGS else None,
        title=_squash(title),
        description=_squash(description),
        image=urljoin(page.url, image) if image else None,
        text=text or "",
    )


def _decode(page: Page) -> str:
    charset = page.charset
    if not charset:
        match = _META_CHARSET.search(page.body[:4096])
        charset = match.group(1).decode("ascii") if match else "utf-8"
    try:
        return page.body.decode(charset, errors="replace")
    except LookupError:
        return page.body.decode("utf-8", errors="replace")


def _meta(tree: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for element in tree.iter("meta"):
        key = (element.get("property") or element.get("name") or "").strip().lower()
        content = element.get("content")
        if key and content and content.strip() and key not in found:
            found[key] = content.strip()
    return found


def _text_of(tree: Any, path: str) -> str | None:
    nodes = tree.xpath(path)
    return nodes[0].text_content() if nodes else None


def _squash(value: str | None) -> str | None:
    return " ".join(value.split()) or None if value else None
