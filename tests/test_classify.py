"""Classification of reader requests and the coarse facts kept from a user agent."""

from __future__ import annotations

import pytest

from balise.analytics.classify import BOT, CLICK, PREFETCH, agent_facts, classify
from tests.agents import (
    BROWSERS,
    CHROME_ANDROID,
    CHROME_ANDROID_TABLET,
    CHROME_DESKTOP,
    CRAWLERS,
    EDGE_WINDOWS,
    FIREFOX_ANDROID,
    FIREFOX_DESKTOP,
    SAFARI_IPAD,
    SAFARI_IPHONE,
    SAFARI_MAC,
    SMART_TV,
    UNFURLERS,
)


@pytest.mark.parametrize("agent", BROWSERS)
def test_browsers_are_clicks(agent):
    assert classify([("User-Agent", agent)]).kind == CLICK


@pytest.mark.parametrize(("name", "agent"), sorted(UNFURLERS.items()))
def test_each_link_unfurler_is_a_bot_named_for_what_it_is(name, agent):
    verdict = classify([("User-Agent", agent)])
    assert (verdict.kind, verdict.agent) == (BOT, name)


@pytest.mark.parametrize("agent", CRAWLERS)
def test_crawlers_and_scripts_are_bots(agent):
    assert classify([("user-agent", agent)]).kind == BOT


def test_a_request_without_user_agent_is_a_bot():
    assert classify([]).kind == BOT


def test_firefox_ai_link_previews_are_bots():
    verdict = classify([("User-Agent", FIREFOX_DESKTOP), ("X-Firefox-AI", "1")])
    assert (verdict.kind, verdict.agent) == (BOT, "firefox-ai")


@pytest.mark.parametrize(
    "header",
    [
        ("Sec-Purpose", "prefetch"),
        ("Sec-Purpose", "prefetch;prerender"),
        ("Purpose", "prefetch"),
        ("X-Moz", "prefetch"),
        ("X-Purpose", "preview"),
    ],
)
def test_prefetch_headers_make_a_prefetch(header):
    assert classify([("User-Agent", CHROME_DESKTOP), header]).kind == PREFETCH


def test_a_bot_that_prefetches_is_still_a_bot():
    headers = [("User-Agent", UNFURLERS["Twitterbot"]), ("Purpose", "prefetch")]
    assert classify(headers).kind == BOT


@pytest.mark.parametrize(
    ("agent", "browser", "os", "device"),
    [
        (CHROME_DESKTOP, "Chrome", "Windows", "desktop"),
        (FIREFOX_DESKTOP, "Firefox", "Linux", "desktop"),
        (SAFARI_MAC, "Safari", "Mac OS X", "desktop"),
        (EDGE_WINDOWS, "Edge", "Windows", "desktop"),
        (SAFARI_IPHONE, "Mobile Safari", "iOS", "mobile"),
        (CHROME_ANDROID, "Chrome Mobile", "Android", "mobile"),
        (FIREFOX_ANDROID, "Firefox Mobile", "Android", "mobile"),
        (SAFARI_IPAD, "Mobile Safari", "iOS", "tablet"),
        (CHROME_ANDROID_TABLET, "Chrome", "Android", "tablet"),
        (SMART_TV, "Samsung Internet", "Tizen", "other"),
        ("", None, None, "other"),
    ],
)
def test_user_agent_facts(agent, browser, os, device):
    facts = agent_facts(agent)
    assert (facts.browser, facts.os, facts.device) == (browser, os, device)
