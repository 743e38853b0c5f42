"""Fixtures of the browser suites: one real server and one page server for the session, one
Chromium (Playwright) and one Firefox ESR (Marionette), each loading the test copy of the
extension. A browser that is not installed skips the tests that need it, saying so."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.extension.firefox import FIREFOX, Firefox, running_firefox
from tests.extension.harness import Balise, Pages, extension_copy, running_balise

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1000, "height": 720}


def chromium_args(extension: Path) -> list[str]:
    return [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--lang=en-US",  # the extension's own pages are asserted in English
        f"--disable-extensions-except={extension}",
        f"--load-extension={extension}",
    ]


@pytest.fixture(scope="package")
def balise() -> Iterator[Balise]:
    with running_balise() as server:
        yield server


@pytest.fixture(scope="package")
def pages() -> Iterator[Pages]:
    served = Pages()
    yield served
    served.close()


@pytest.fixture(scope="package")
def playwright() -> Iterator[Any]:
    """One Playwright driver for every Chromium context of the extension tests; stopped when
    they end, since a running sync driver makes every later sync_playwright() fail."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is missing")
    with sync_api.sync_playwright() as driver:
        yield driver


def launch_chromium(playwright: Any, *, open_shadow: bool = False) -> Iterator[Any]:
    """A persistent Chromium context with the test copy of the extension loaded."""
    scratch = Path(tempfile.mkdtemp(prefix="balise-chromium-"))
    extension = extension_copy(scratch / "extension", open_shadow=open_shadow)
    context = playwright.chromium.launch_persistent_context(
        str(scratch / "profile"),
        executable_path=CHROMIUM,
        headless=True,
        args=chromium_args(extension),
        viewport=VIEWPORT,
    )
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="package")
def browser_context(playwright: Any) -> Iterator[Any]:
    yield from launch_chromium(playwright)


def worker(context: Any) -> Any:
    if context.service_workers:
        return context.service_workers[0]
    return context.wait_for_event("serviceworker", timeout=15000)


def settings_for(balise: Balise, mode: str, disabled: tuple[str, ...], delays: dict[str, int]):
    return {
        "servers": [balise.base],
        "mode": mode,
        "disabledSites": list(disabled),
        "delays": {"fetch": 150, "show": 500, "hide": 300, **delays},
    }


@pytest.fixture
def configure(browser_context: Any, balise: Balise) -> Callable[..., None]:
    """Write `settings` as the options page would; a change also empties the worker's cache."""

    def apply(mode: str = "short", disabled: tuple[str, ...] = (), **delays: int) -> None:
        settings = settings_for(balise, mode, disabled, delays)
        # Removed first: storage.onChanged (which empties the worker's cache) fires on changes
        # only, and an earlier test may have left the very same settings.
        worker(browser_context).evaluate(
            "s => chrome.storage.local.remove(['apiKey', 'settings']).then(() => "
            "chrome.storage.local.set({settings: s}))",
            settings,
        )
        balise.proxy.reset()

    return apply


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    tab = browser_context.new_page()
    yield tab
    tab.close()


@pytest.fixture(scope="package")
def extension_id(browser_context: Any) -> str:
    return str(worker(browser_context).url.split("/")[2])


@pytest.fixture(scope="package")
def firefox() -> Iterator[Firefox]:
    if not Path(FIREFOX).exists():
        pytest.skip(f"Debian's firefox-esr is not installed ({FIREFOX})")
    pytest.importorskip("marionette_driver", reason="marionette-driver is not installed")
    with running_firefox() as browser:
        yield browser
