"""What the slug cache holds per link (web/reader/page.py, ReaderEntry): its pages, each
rendered once, and few bytes, so that a cache of BALISE_CACHE_SIZE entries stays within the
memory the README gives for it."""

from __future__ import annotations

import gc
import threading
import tracemalloc

from balise import create_app
from balise.summaries import store as summaries
from balise.web.context import state
from balise.web.reader import page

SUMMARY = {"title": "Un titre", "teaser": "Une phrase.", "recap": "Ce qui s'est passé."}


def _reader(app):
    return state(app).services["reader"]


def test_an_entry_renders_each_page_once_and_keeps_a_bounded_number(app, make_link, monkeypatch):
    make_link(slug="pages", url="https://example.org/pages")
    entry = _reader(app).entry("pages")
    renders: list[tuple[str, str]] = []
    real = page.render

    def counted(app, entry, lang, target):
        renders.append((lang, target))
        return real(app, entry, lang, target)

    monkeypatch.setattr(page, "render", counted)
    first = entry.page(app, "fr")
    assert entry.page(app, "fr") is first
    assert entry.page(app, "fr", entry.static_target) is first  # the same page: one key
    english = entry.page(app, "en")
    assert english is not first and b'lang="en"' in english.body("t")
    assert entry.page(app, "en") is english
    assert renders == [("fr", entry.static_target), ("en", entry.static_target)]

    # Pages for other targets (rules, forwarded queries) are kept up to MAX_PAGES in all;
    # beyond, they are rendered for the request and not kept.
    targets = [f"https://example.org/pages?n={n}" for n in range(page.MAX_PAGES)]
    kept = [entry.page(app, "fr", target) for target in targets]
    assert len(renders) == 2 + page.MAX_PAGES
    assert [entry.page(app, "fr", t) for t in targets[: page.MAX_PAGES - 2]] == kept[:-2]
    assert len(renders) == 2 + page.MAX_PAGES  # those were kept
    entry.page(app, "fr", targets[-1])
    assert len(renders) == 3 + page.MAX_PAGES  # that one was not
    assert b"https://example.org/pages?n=7" in kept[7].body("t")


def test_readers_arriving_together_wait_for_one_render(app, make_link, monkeypatch):
    make_link(slug="together", url="https://example.org/together")
    entry = _reader(app).entry("together")
    started, release = threading.Event(), threading.Event()
    renders = []
    real = page.render

    def slow(app, entry, lang, target):
        renders.append(lang)
        started.set()
        release.wait(5)
        return real(app, entry, lang, target)

    monkeypatch.setattr(page, "render", slow)
    got: list[page.Rendered] = []
    readers = [threading.Thread(target=lambda: got.append(entry.page(app, "fr"))) for _ in range(4)]
    for reader in readers:
        reader.start()
    assert started.wait(5)
    release.set()
    for reader in readers:
        reader.join(5)
    assert renders == ["fr"] and len(got) == 4 and all(p is got[0] for p in got)


def test_an_entry_with_its_page_takes_under_4_kib(settings, db, make_link):
    """A third of the links with a summary: about 3.1 KiB an entry (5.1 KiB before entries
    were made compact: README, Performance)."""
    made = [make_link(slug=f"weigh-{n:03d}", url=f"https://example.org/a/{n}") for n in range(120)]
    with db.begin() as conn:
        for link in made[::3]:
            summaries.save_summary(conn, link, SUMMARY)
    app = create_app(settings)  # after the links: its change feed has nothing to drop
    try:
        _weigh(app, made)
    finally:
        app.extensions["balise"].shutdown()


def _weigh(app, made):
    reader = _reader(app)
    for link in made[:20]:  # lazy imports, templates, skeletons
        entry = reader.entry(link.slug)
        entry.page(app, entry.lang or "fr")
    weighed = [link.slug for link in made[20:]]
    gc.collect()
    # Only what this thread allocates here (not the click writer's or the change feed's).
    here = [tracemalloc.Filter(True, __file__, all_frames=True)]
    tracemalloc.start(100)
    before = tracemalloc.take_snapshot().filter_traces(here)
    for slug in weighed:
        entry = reader.entry(slug)
        entry.page(app, entry.lang or "fr")
    gc.collect()
    after = tracemalloc.take_snapshot().filter_traces(here)
    tracemalloc.stop()
    assert all(reader.cache.peek(slug) is not None for slug in weighed)
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown / len(weighed) < 4096
