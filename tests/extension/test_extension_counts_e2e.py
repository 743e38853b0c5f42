"""What the server learns and counts, in Debian's Chromium: preview views rise by one per card
shown and by nothing for passes and ahead-of-time batches; a stalled server costs a time-out,
not the links; pages cannot detect the extension by its files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.extension.chromium import wait_for_card
from tests.extension.conftest import CHROMIUM
from tests.extension.harness import EN_SUMMARY, FR_SUMMARY, page_html, until_asked, wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"Debian's Chromium is not installed at {CHROMIUM}"
    ),
]


def test_a_short_pass_counts_no_view_and_a_card_shown_counts_one(balise, pages, configure, page):
    balise.add_link("cr-views-pass", "https://news.example.org/views/pass", FR_SUMMARY)
    balise.add_link("cr-views-card", "https://news.example.org/views/card", EN_SUMMARY)
    configure()  # fetch 150 ms, show 500 ms
    url = pages.add(
        "/views",
        page_html(
            f'<p style="margin-top:200px"><a id="pass" href="{balise.short("cr-views-pass")}">'
            f'passed over</a> and <a id="card" href="{balise.short("cr-views-card")}">read</a>'
            '</p><p id="away">away</p>'
        ),
    )
    page.goto(url)

    def pass_over() -> None:
        # A 250 ms pass: the look-up leaves (the fetch delay is over), no card shows.
        page.hover("#pass")
        page.wait_for_timeout(250)
        page.mouse.move(5, 5)

    until_asked(balise.proxy, pass_over)
    page.wait_for_timeout(700)
    assert page.locator("balise-card").count() == 0
    assert balise.preview_views("cr-views-pass") == 0
    assert balise.proxy.seen_reports() == []

    # A card shown: exactly one view, reported once.
    page.hover("#card")
    wait_for_card(page)
    wait_until(lambda: balise.preview_views("cr-views-card") == 1)
    page.mouse.move(5, 5)
    page.locator("balise-card").wait_for(state="detached", timeout=3000)
    assert balise.proxy.seen_reports() == [("POST", "/api/v1/summaries/seen")]
    assert balise.preview_views("cr-views-card") == 1
    assert balise.preview_views("cr-views-pass") == 0


def test_an_ahead_of_time_batch_counts_no_view(balise, pages, configure, page):
    targets = [f"https://news.example.org/views/batch-{i}" for i in range(3)]
    for i, target in enumerate(targets):
        balise.add_link(f"cr-batch-{i}", target, EN_SUMMARY)
    configure(mode="known")
    links = "".join(f'<li><a id="b{i}" href="{u}">story</a></li>' for i, u in enumerate(targets))
    url = pages.add(
        "/views-batch",
        page_html(
            '<p><a id="unknown" href="https://example.net/not-known">an unknown link</a></p>'
            f'<ul>{links}</ul><p id="away">away</p>'
        ),
    )
    page.goto(url)

    def rest_on_unknown() -> None:
        page.mouse.move(5, 5)
        page.hover("#unknown")

    # Resting 1.5 s on a link the server does not know sends the page's links in one batch.
    until_asked(balise.proxy, rest_on_unknown)
    page.wait_for_timeout(1500)
    assert page.locator("balise-card").count() == 0
    assert balise.proxy.summary_requests() == [("POST", "/api/v1/summaries/lookup")]
    assert [balise.preview_views(f"cr-batch-{i}") for i in range(3)] == [0, 0, 0]
    # One of them shown: one view for it alone, answered from the batch (no new look-up).
    page.hover("#b1")
    wait_for_card(page)
    wait_until(lambda: balise.preview_views("cr-batch-1") == 1)
    assert [balise.preview_views(f"cr-batch-{i}") for i in range(3)] == [0, 1, 0]
    assert balise.proxy.summary_requests() == [("POST", "/api/v1/summaries/lookup")]


def test_a_stalled_look_up_times_out_and_the_link_works_again_later(balise, pages, configure, page):
    balise.add_link("cr-stall", "https://news.example.org/stall", FR_SUMMARY)
    configure()
    url = pages.add(
        "/stall",
        page_html(
            f'<p><a id="fr" href="{balise.short("cr-stall")}">a link</a></p><p id="away">away</p>'
        ),
    )
    page.goto(url)
    balise.proxy.stall()
    try:
        until_asked(balise.proxy, lambda: (page.mouse.move(5, 5), page.hover("#fr")))
        page.wait_for_timeout(6000)  # past the 5 s time-out
        assert page.locator("balise-card").count() == 0
    finally:
        balise.proxy.release()
    page.mouse.move(5, 5)
    page.reload()

    def card_after_hover() -> bool:
        page.hover("#fr")
        try:
            wait_for_card(page, timeout=1500)
            return True
        except Exception:
            page.mouse.move(5, 5)
            return False

    # The server is left alone for a few seconds, then asked again: the card shows.
    wait_until(card_after_hover, timeout=20, step=0.5)
    assert len(balise.proxy.summary_requests()) == 2


def test_pages_cannot_detect_the_extension_by_its_files(
    balise, pages, configure, page, extension_id
):
    configure()
    url = pages.add("/detect", page_html(f'<p><a id="fr" href="{balise.short("fr")}">x</a></p>'))
    page.goto(url)
    probes = ["src/lib/card.js", "src/content.bundle.js", "manifest.json", "icons/icon-16.png"]
    found = page.evaluate(
        """async ([id, paths]) => Promise.all(paths.map(p =>
             fetch(`chrome-extension://${id}/${p}`).then(r => r.status, () => 'refused')))""",
        [extension_id, probes],
    )
    assert found == ["refused"] * len(probes)
    page.hover("#fr")
    wait_for_card(page)  # the extension works all the same


def test_known_mode_never_sends_links_to_the_page_itself(balise, pages, configure, page):
    configure(mode="known")
    own = f"{pages.origin}/private-doc"
    url = pages.add(
        "/private-doc",
        page_html(
            '<p><a id="unknown" href="https://example.net/elsewhere">elsewhere</a></p>'
            f'<p><a href="{own}?token=SECRET&tab=2">tab 2</a> <a href="{own}">this page</a> '
            f'<a href="{own}?token=SECRET#notes">notes</a> '
            '<a href="https://example.net/other">other</a></p>'
        ),
    )
    page.goto(url + "?token=SECRET")

    def rest_on_unknown() -> None:
        page.mouse.move(5, 5)
        page.hover("#unknown")

    until_asked(balise.proxy, rest_on_unknown)
    sent = [u for batch in balise.proxy.batches for u in batch["urls"]]
    assert sorted(sent) == ["https://example.net/elsewhere", "https://example.net/other"]
    assert all(batch["prefetch"] is True for batch in balise.proxy.batches)
