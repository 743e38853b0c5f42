"""Helpers for the dashboard's browser tests: a real `balise serve` on 127.0.0.1 and screenshots.

Not a test module (no test_ prefix); the browser tests import it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
BALISE = str(Path(sys.executable).with_name("balise"))
WIDTHS = {"desktop": 1280, "phone": 390}
SCHEMES = ("light", "dark")


def artifacts_dir() -> Path:
    base = Path(os.environ.get("BALISE_ARTIFACTS_DIR") or ROOT / "test-artifacts")
    folder = base / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def balise(self, *args: str, stdin: str | None = None) -> str:
        """Run the `balise` command against this server's database; returns standard output."""
        done = subprocess.run(  # noqa: S603 - our own console script
            [BALISE, *args],
            input=stdin.encode() if stdin is not None else None,
            env=self.env,
            capture_output=True,
            check=True,
            timeout=60,
        )
        return done.stdout.decode()


@contextmanager
def live_server(data_dir: Path, **settings: str) -> Iterator[LiveServer]:
    """`balise serve` on a free port with its own data dir; stopped with SIGTERM afterwards.

    `balise serve` migrates the database before it listens: no `balise db upgrade` first."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        BALISE_DATA_DIR=str(data_dir),
        BALISE_HOST="127.0.0.1",
        BALISE_PORT=str(port),
        BALISE_BASE_URL=f"http://127.0.0.1:{port}",
        BALISE_THREADS="4",
        BALISE_LOG_LEVEL="WARNING",
        BALISE_FETCH_METADATA="0",  # no background fetches of test targets off this machine
        BALISE_SECRET_KEY="browser-test-secret",
    )
    env.update({f"BALISE_{k}": v for k, v in settings.items()})
    log = open(data_dir / "serve.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen([BALISE, "serve"], env=env, stdout=log, stderr=log)  # noqa: S603
    server = LiveServer(f"http://127.0.0.1:{port}", env, process)
    try:
        _wait_until_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_up(server: LiveServer) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError("balise serve exited early")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("balise serve did not answer /healthz within 30 s")


def screenshots(
    browser: Any,
    url: str,
    name: str,
    state: Any = None,
    prepare: Callable[[Any], None] | None = None,
    locale: str = "fr-FR",
) -> list[Path]:
    """Full-page screenshots of `url` in light and dark, at desktop and phone widths.

    `prepare(page)` runs after loading (to fill and send a form, say) before each screenshot.
    Fails when the page scrolls sideways: everything must fit a phone's width.
    """
    saved = []
    for label, width in WIDTHS.items():
        for scheme in SCHEMES:
            context = browser.new_context(
                viewport={"width": width, "height": 900},
                color_scheme=scheme,
                storage_state=state,
                device_scale_factor=1,
                locale=locale,
                timezone_id="Europe/Paris",
            )
            try:
                page = context.new_page()
                page.goto(url)  # returns once loaded: stylesheet, scripts, images
                if prepare is not None:
                    prepare(page)
                    # What prepare started (a form sent) has finished once nothing is fetched
                    # for 0.5 s. Without prepare, the load above is enough: no page fetches
                    # anything after it but the live block, 5 s later (dashboard.js); waiting
                    # for network idle cost 0.5 s a screenshot, 64 of them in the suite.
                    page.wait_for_load_state("networkidle")
                page.evaluate("window.scrollTo(0, 0)")  # sticky parts drawn where they rest
                wider = page.evaluate("document.documentElement.scrollWidth - innerWidth")
                assert wider <= 0, f"{name} scrolls sideways by {wider}px at {width}px"
                path = artifacts_dir() / f"{name}-{label}-{scheme}.png"
                page.screenshot(path=str(path), full_page=True)
                saved.append(path)
            finally:
                context.close()
    return saved
