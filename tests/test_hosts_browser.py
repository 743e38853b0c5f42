"""Balise reads hosts as Chromium does: the same ASCII host for every name Chromium goes to, and
a refusal where Chromium refuses (issue 11, findings 7 and 13). Chromium's own URL parser is
the reference, through `new URL()` in a blank page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from balise.links.hosts import HostInvalid, ascii_host
from tests.test_hosts import HOSTS, INVALID_HOSTS

pytestmark = pytest.mark.browser

# Where Balise is stricter than browsers on purpose: underscores and empty labels make no
# host name that DNS would answer.
STRICTER = {"a_b.example", "a..b"}


@pytest.fixture(scope="module")
def chromium_hostname(browser: Any) -> Iterator[Any]:
    page = browser.new_page()

    def hostname(host: str) -> str | None:
        script = "h => { try { return new URL(`http://${h}/`).hostname } catch { return null } }"
        return page.evaluate(script, host)  # type: ignore[no-any-return]

    yield hostname
    page.close()


def balise_hostname(host: str) -> str | None:
    try:
        return ascii_host(host)
    except HostInvalid:
        return None


@pytest.mark.parametrize("host", [h for h, _ in HOSTS] + INVALID_HOSTS)
def test_balise_reads_each_host_as_chromium_does(chromium_hostname, host):
    expected = chromium_hostname(host)
    if host in STRICTER:
        assert expected is not None and balise_hostname(host) is None
    else:
        assert balise_hostname(host) == expected
