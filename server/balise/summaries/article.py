"""What a fetched page says about itself (title, description, image, language) and its main text.

Drafts are made from it (drafting.py, llm.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import lxml.etree
import lxml.html
import webencodings

from balise.links.store import LANGS
from balise.summaries.fetch import FetchUnsupported, Page

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
    try:
        tree = lxml.html.document_fromstring(html)
    except lxml.etree.ParserError:  # nothing but blanks and comments
        raise FetchUnsupported("The page is empty: there is nothing to draft from.") from None
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
    """The page as text, read as browsers do: a byte order mark, else the charset the page
    declares if it is a web encoding (WHATWG labels: `latin1` is windows-1252, `idna` is no
    encoding at all), else UTF-8."""
    label = page.charset if isinstance(page.charset, str) else None  # charset*= is a tuple
    if not label:
        match = _META_CHARSET.search(page.body[:4096])
        label = match.group(1).decode("ascii") if match else None
    encoding = webencodings.lookup(label) if label else None
    text, _used = webencodings.decode(page.body, encoding or webencodings.UTF8, errors="replace")
    return text  # type: ignore[no-any-return]


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
