"""How a summary is shown: its JSON shape, and what the reader pages and social cards need.

Text stays text: sections are split into paragraphs here and escaped by Jinja's autoescape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from balise.links.store import Link
from balise.summaries.cards import Card
from balise.summaries.lookup import PageCard
from balise.summaries.store import SECTIONS, Summary, paragraphs
from balise.web.context import state
from balise.web.i18n import LANGS, N_, gettext_in

# What the reader page and the hover card call each part of a summary. They are said in the
# summary's own language, which may differ from the page's.
HEADINGS = {
    "recap": N_("Factual recap"),
    "neutral": N_("Neutral view"),
    "example": N_("Example"),
    "optimistic": N_("Optimistic view"),
    "pessimistic": N_("Pessimistic view"),
    "source_url": N_("Source article"),
    "label": N_("Article summary"),
}
OG_LOCALES = {"fr": "fr_FR", "en": "en_US"}


def summary_json(slug: str, short_url: str, target_url: str, summary: Summary) -> dict[str, Any]:
    """The PublicSummary shape (the extension's contract)."""
    return {
        "slug": slug,
        "short_url": short_url,
        "target_url": target_url,
        "lang": summary.lang,
        "title": summary.title,
        "teaser": summary.teaser,
        **{name: getattr(summary, name) for name in SECTIONS},
        "source_url": summary.source_url or target_url,
        "image_url": summary.image_url,
        "origin": summary.origin,
        "updated_at": summary.updated_at,
    }


def page_json(slug: str, short_url: str, target_url: str, page: PageCard) -> dict[str, Any]:
    """The LookedUpPage shape: a link without a summary, shown by its page's own card."""
    return {
        "slug": slug,
        "short_url": short_url,
        "target_url": target_url,
        "lang": page.lang,
        "title": page.title,
        "teaser": page.description,
        "origin": "page",
        "updated_at": page.fetched_at,
    }


def summary_out(link: Link, summary: Summary) -> dict[str, Any]:
    """The SummaryOut shape of the authoring API: the public one plus created_at."""
    body = summary_json(link.slug, state().short_url(link.slug), link.url, summary)
    body["created_at"] = summary.created_at
    return body


@dataclass(frozen=True)
class Section:
    name: str
    heading: str
    paragraphs: list[str]


@dataclass(frozen=True)
class SummaryPage:
    """The summary as the _summary.html partial shows it."""

    lang: str
    label: str
    teaser: str
    sections: list[Section]
    source_heading: str
    source_url: str
    source_label: str


def section_headings(lang: str) -> dict[str, str]:
    """The section headings (and the summary's label) in `lang`; English for other languages."""
    lang = lang if lang in LANGS else "en"
    return {name: gettext_in(lang, heading) for name, heading in HEADINGS.items()}


def summary_page(link: Link, summary: Summary) -> SummaryPage:
    headings = section_headings(summary.lang)
    source = summary.source_url or link.url
    parts = urlsplit(source)
    label = (parts.hostname or "") + (parts.path if parts.path != "/" else "")
    return SummaryPage(
        lang=summary.lang,
        label=headings["label"],
        teaser=summary.teaser,
        sections=[
            Section(name, headings[name], paragraphs(getattr(summary, name)))
            for name in SECTIONS
            if getattr(summary, name)
        ],
        source_heading=headings["source_url"],
        source_url=source,
        source_label=label.removeprefix("www.") or source,
    )


def social_tags(
    link: Link,
    summary: Summary | None,
    *,
    short_url: str,
    site_name: str,
    page_lang: str,
    card: Card | None = None,
) -> list[tuple[str, str, str]]:
    """(attribute, name, content) of the Open Graph and Twitter card tags, in order.

    A summary gives them all; without one, the target page's own card (fetched in the
    background) gives its title, description, image, site name and language."""
    page = card if summary is None else None
    fallback = link.title or urlsplit(link.url).hostname or link.url
    title = summary.title if summary else (link.title or (page and page.title) or fallback)
    lang = summary.lang if summary else ((page and page.lang) or page_lang)
    image = summary.image_url if summary else (page and page.image_url)
    description = summary.teaser if summary else (page and page.description)
    tags = [
        ("property", "og:type", "article"),
        ("property", "og:title", title),
        ("property", "og:url", short_url),
        ("property", "og:site_name", (page and page.site_name) or site_name),
        ("property", "og:locale", OG_LOCALES.get(lang, "fr_FR")),
    ]
    if description:
        tags.append(("property", "og:description", description))
    if image:
        tags.append(("property", "og:image", image))
    tags += [
        ("name", "twitter:card", "summary_large_image" if image else "summary"),
        ("name", "twitter:title", title),
    ]
    if description:
        tags.append(("name", "twitter:description", description))
        tags.append(("name", "description", description))
    if image:
        tags.append(("name", "twitter:image", image))
    return tags


def page_context(
    link: Link, summary: Summary | None, *, short_url: str, page_lang: str, card: Card | None = None
) -> dict[str, Any]:
    """What reader.html and preview.html need from the summary (else the page's own card):
    headline, card tags, body."""
    return {
        "headline": summary.title if summary else (link.title or (card and card.title)),
        "social": social_tags(
            link,
            summary,
            short_url=short_url,
            site_name=str(state().settings["SITE_NAME"]),
            page_lang=page_lang,
            card=card,
        ),
        "summary": summary_page(link, summary) if summary else None,
    }
