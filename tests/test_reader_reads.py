"""The reader path's compiled reads (web/reader/reads.py) see exactly what SQLAlchemy sees."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from balise.db.tables import links as links_table
from balise.summaries import cards
from balise.summaries import store as summaries
from balise.summaries.article import PageMeta
from balise.web.reader.page import load_entry, reader_reads, unchanged_links


@pytest.fixture
def varied(db, make_link):
    """Links of every shape a reader page has: summary, card, controls, dates, direct."""
    soon = datetime.now(timezone.utc) + timedelta(days=3)
    plain = make_link(slug="Plain-One", title="Un titre")
    with_summary = make_link(slug="resume", lang="en", redirect_delay=0)
    with_card = make_link(slug="carte")
    controlled = make_link(
        slug="regles",
        expires_at=soon,
        max_clicks=9,
        utm_source="lettre",
        forward_query=True,
        fallback_url="https://example.org/fin",
        rules=[{"url": "https://m.example.org/", "device": "mobile"}],
    )
    direct = make_link(slug="direct", redirect_mode="direct", redirect_status=308)
    with db.begin() as conn:
        summaries.save_summary(conn, with_summary, {"title": "Titre", "teaser": "Une phrase."})
        meta = PageMeta("Page", "Sa description", None, "Le Site", "fr")
        cards.save_card(conn, with_card.id, with_card.url, meta, None)
    return [plain, with_summary, with_card, controlled, direct]


def test_an_entry_read_by_the_compiled_query_equals_the_one_read_through_sqlalchemy(app, varied):
    reads = reader_reads(app)
    for link in varied:
        for slug in (link.slug, link.slug.upper()):
            fast = load_entry(app, slug, reads)
            slow = load_entry(app, slug)
            assert fast is not None and slow is not None
            assert (fast.link, fast.summary, fast.card, fast.delay) == (
                slow.link,
                slow.summary,
                slow.card,
                slow.delay,
            )
    controlled = load_entry(app, "regles", reads)
    assert controlled is not None
    assert controlled.link.expires_at is not None and controlled.link.expires_at.tzinfo
    assert controlled.link.rules and controlled.link.rules[0]["device"] == "mobile"
    assert load_entry(app, "resume", reads).summary.title == "Titre"  # type: ignore[union-attr]
    assert load_entry(app, "carte", reads).card.title == "Page"  # type: ignore[union-attr]
    assert load_entry(app, "nowhere", reads) is None


def test_the_version_check_sees_every_change_and_every_deletion(app, db, varied):
    reads = reader_reads(app)
    plain = varied[0]
    key = plain.slug.lower()
    assert unchanged_links(app, {key: plain.version}, reads) == {key}
    with db.begin() as conn:
        conn.execute(
            update(links_table)
            .where(links_table.c.id == plain.id)
            .values(version=links_table.c.version + 1)
        )
    assert unchanged_links(app, {key: plain.version}, reads) == set()
    assert unchanged_links(app, {key: plain.version + 1}, reads) == {key}
    with db.begin() as conn:
        conn.execute(text("DELETE FROM links WHERE id = :id"), {"id": plain.id})
    assert unchanged_links(app, {key: plain.version + 1}, reads) == set()


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(app):
    reads = reader_reads(app)
    reads.entry.sql = "SELECT * FROM no_such_table WHERE 1 = " + (
        "?" if reads.entry.positional else "%(key)s"
    )
    with pytest.raises(DBAPIError):
        reads.entry_row("plain-one")
    assert reads.version_of("plain-one") is None  # the pool still hands out working connections
