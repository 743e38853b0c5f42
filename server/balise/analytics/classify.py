"""Who asked for a short link: a person (click), a bot (crawler, link unfurler) or a prefetch.

Pure functions over request headers; results are cached because the same user agents repeat.
Also turns a user agent into the coarse facts a click keeps (browser, OS, device type), so the
full user-agent string never needs to be stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import ua_parser
from crawlerdetect import CrawlerDetect

CLICK, BOT, PREFETCH = "click", "bot", "prefetch"
KINDS = (CLICK, BOT, PREFETCH)

# Link unfurlers and assistants that crawlerdetect may miss or that must never count as people.
UNFURLERS = (
    "facebookexternalhit",
    "Twitterbot",
    "Slackbot-LinkExpanding",
    "Discordbot",
    "WhatsApp",
    "TelegramBot",
    "LinkedInBot",
    "SkypeUriPreview",
    "Applebot",
)
_UNFURLERS_LOWER = tuple((name.lower(), name) for name in UNFURLERS)
# Headers whose value announces a speculative load, not a person's visit.
PREFETCH_HEADERS = ("sec-purpose", "purpose", "x-purpose", "x-moz")
PREFETCH_VALUES = ("prefetch", "preview")
# Every header classify() reads (callers holding a WSGI environ can pass just these).
HEADERS_READ = ("user-agent", "x-firefox-ai", *PREFETCH_HEADERS)
# Longest user agent looked at: bounds the caches' memory whatever clients send.
MAX_AGENT_LENGTH = 512
AGENT_NAME_LENGTH = 64


@dataclass(frozen=True)
class Verdict:
    kind: str  # click | bot | prefetch
    agent: str | None = None  # for bots: the crawler's name, never the full user agent


@dataclass(frozen=True)
class AgentFacts:
    browser: str | None
    os: str | None
    device: str  # desktop | mobile | tablet | other


_CLICK = Verdict(CLICK)


def classify(headers: Iterable[tuple[str, str]]) -> Verdict:
    """Classify a GET of a short link from its headers, (name, value) pairs in any case."""
    lowered = {name.lower(): value for name, value in headers}
    if "x-firefox-ai" in lowered:
        return Verdict(BOT, "firefox-ai")
    verdict = of_agent(lowered.get("user-agent", ""))
    if verdict.kind == BOT:
        return verdict
    for name in PREFETCH_HEADERS:
        value = lowered.get(name, "").lower()
        if value and any(word in value for word in PREFETCH_VALUES):
            return Verdict(PREFETCH, name)
    return verdict


def of_agent(user_agent: str) -> Verdict:
    """What classify() answers for a request whose only header it reads is this user agent
    (no prefetch or AI header): a bot, or a click. One cached look-up for most requests."""
    return _agent_verdict(user_agent.strip()[:MAX_AGENT_LENGTH])


@lru_cache(maxsize=4096)
def _agent_verdict(user_agent: str) -> Verdict:
    crawler = crawler_name(user_agent)
    return _CLICK if crawler is None else Verdict(BOT, crawler)


@lru_cache(maxsize=4096)
def crawler_name(user_agent: str) -> str | None:
    """The bot's name when `user_agent` is a crawler or unfurler, else None.

    A request without a user agent is a script, never a person's browser.
    """
    if not user_agent:
        return "no-user-agent"
    lowered = user_agent.lower()
    found = [(lowered.find(n), name) for n, name in _UNFURLERS_LOWER if n in lowered]
    if found:
        return min(found)[1]  # the name the agent starts with: "TelegramBot (like TwitterBot)"
    detector = CrawlerDetect()  # one per call: its match state is not thread-safe
    if detector.is_crawler(user_agent):
        return (detector.get_matches() or "crawler")[:AGENT_NAME_LENGTH]
    return None


_MOBILE_OS = frozenset(
    {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS", "Symbian OS"}
)
_DESKTOP_OS = frozenset(
    {
        "Windows",
        "Mac OS X",
        "Linux",
        "Ubuntu",
        "Fedora",
        "Debian",
        "Chrome OS",
        "FreeBSD",
        "OpenBSD",
        "NetBSD",
        "Solaris",
    }
)
_OTHER_DEVICES = ("tv", "playstation", "xbox", "nintendo", "spider", "watch")
_TABLETS = ("ipad", "tablet", "kindle", "tab ")


@lru_cache(maxsize=4096)
def agent_facts(user_agent: str) -> AgentFacts:
    """Browser family, OS family and device type of a user agent (ua-parser, then rules)."""
    user_agent = user_agent[:MAX_AGENT_LENGTH]
    parsed = ua_parser.parse(user_agent)
    browser = parsed.user_agent.family if parsed.user_agent else None
    os = parsed.os.family if parsed.os else None
    device = _device_type(user_agent, os, parsed.device)
    return AgentFacts(_short(browser), _short(os), device)


def _device_type(user_agent: str, os: str | None, device: ua_parser.Device | None) -> str:
    described = " ".join(
        filter(None, (device.family, device.brand, device.model) if device else ())
    ).lower()
    if any(word in described for word in _OTHER_DEVICES):
        return "other"
    if any(word in described for word in _TABLETS):
        return "tablet"
    mobile_word = "mobi" in user_agent.lower()
    if os == "Android" and not mobile_word:
        return "tablet"  # Android tablets drop "Mobile" from their user agent
    if os in _MOBILE_OS or mobile_word:
        return "mobile"
    if os in _DESKTOP_OS:
        return "desktop"
    return "other"


def _short(value: str | None) -> str | None:
    return value[:AGENT_NAME_LENGTH] if value else None


def warm_up() -> None:
    """Compile the crawler and user-agent rules now rather than on the first request."""
    crawler_name("Mozilla/5.0 (X11; Linux x86_64) warm-up")
    agent_facts("Mozilla/5.0 (X11; Linux x86_64) warm-up")
