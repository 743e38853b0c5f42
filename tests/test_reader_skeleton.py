"""Reader pages filled in from a skeleton (web/reader/skeleton.py) are Jinja's pages, byte for
byte, whatever the texts hold; a template that does more with a text is caught."""

from __future__ import annotations

import itertools

import pytest
from jinja2 import Environment

from balise.summaries import cards
from balise.summaries import store as summaries
from balise.summaries.article import PageMeta
from balise.web.reader import page, skeleton
from balise.web.reader.skeleton import Skeletons

AWKWARD = [
    None,
    "",
    'Tom & Jerry\'s "<b>best</b>" </script><script>alert(1)</script>',
    "Ça coûte 5 € — l'été ☀️",
    "x" * 290,
]
SUMMARY = {
    "title": 'Un <titre> & "guillemets"',
    "teaser": "Une phrase avec <em>balises</em>.",
    "recap": "Premier paragraphe.\n\nDeuxième & dernier.",
    "optimistic": "Un seul paragraphe <ici>.",
}


@pytest.fixture
def entries(app, db, make_link):
    made = []
    for n, (title, delay, lang) in enumerate(
        itertools.product(AWKWARD, (None, 0, 7), (None, "en"))
    ):
        made.append(
            make_link(
                slug=f"page-{n}",
                url=f'https://example.org/a?b=1&c="{n}"<x>',
                title=title,
                redirect_delay=delay,
                lang=lang,
            )
        )
    summarised = make_link(slug="avec-resume", url="https://example.org/resume?x=1&y=2")
    carded = make_link(slug="avec-carte", url="https://example.org/carte")
    with db.begin() as conn:
        summaries.save_summary(conn, summarised, SUMMARY)
        meta = PageMeta(
            'Carte "<titre>"', "Desc & <b>", "https://img.example/a.png?x=1&y=2", "Site", "en"
        )
        cards.save_card(conn, carded.id, carded.url, meta, None)
    reads = page.reader_reads(app)
    return [page.load_entry(app, link.slug, reads) for link in [*made, summarised, carded]]


def test_every_page_filled_in_equals_jinjas_page(app, entries):
    jinja = page._jinja(app)  # noqa: SLF001
    skeletons = page._skeletons(app)  # noqa: SLF001
    for lang in ("fr", "en"):
        for entry in entries:
            for target in (entry.static_target, "https://other.example/?q=<\"'>&"):
                values = page.page_values(app, entry, lang, target)
                assert skeletons.render(values) == jinja(values)
    assert skeletons.mismatches == 0
    assert skeletons.filled > skeletons.verified  # most pages were filled in, not rendered


def test_the_page_a_reader_gets_shows_the_texts_escaped(client, make_link):
    make_link(slug="echappe", title='<script>alert("x")</script> & co')
    for _ in range(2):  # the second from the skeleton of the first's shape
        body = client.get("/echappe").get_data(as_text=True)
        assert "<script>alert" not in body
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in body


def _skeletons(source: str) -> tuple[Skeletons, Environment]:
    env = Environment(autoescape=True)  # noqa: S701 - autoescape is on
    template = env.from_string(source)
    return Skeletons(lambda values: template.render(**values)), env


def test_a_template_that_transforms_a_text_is_rendered_by_jinja_from_its_first_page():
    skeletons, _ = _skeletons("<h1>{{ headline|upper }}</h1>")
    assert skeletons.render({"lang": "fr", "headline": "abc"}) == "<h1>ABC</h1>"
    assert skeletons.render({"lang": "fr", "headline": "xyz"}) == "<h1>XYZ</h1>"
    assert skeletons.mismatches == 1 and skeletons.filled == 0


def test_a_difference_that_shows_only_on_some_texts_is_caught_by_the_regular_comparison(
    monkeypatch,
):
    monkeypatch.setattr(skeleton, "VERIFY_EVERY", 4)
    skeletons, _ = _skeletons("<h1>{{ headline|truncate(12) }}</h1>")
    assert skeletons.render({"lang": "fr", "headline": "court"}) == "<h1>court</h1>"
    pages = [skeletons.render({"lang": "fr", "headline": "un titre bien trop long"})]
    pages += [
        skeletons.render({"lang": "fr", "headline": "un titre bien trop long"}) for _ in range(4)
    ]
    assert skeletons.mismatches == 1
    assert pages[-1] == "<h1>un titre...</h1>"  # Jinja's from then on
