"""Firefox ESR driven through Marionette, its built-in automation, with the test copy of the
extension installed as a temporary add-on (what about:debugging does).

`firefox-esr --marionette --headless` listens on the port its profile names; the
`marionette-driver` package talks to it. Scripts run in the page's own world
(sandbox=None), or with system privileges (sandbox="system") to read the card's closed
shadow root through `openOrClosedShadowRoot`, which pages cannot do."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.extension.harness import extension_copy, free_port, screenshot_path, wait_until

FIREFOX = shutil.which("firefox-esr") or "/usr/bin/firefox-esr"
PREFS = {
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "intl.locale.requested": "en-US",
    "intl.accept_languages": "en-US, en",
    "ui.prefersReducedMotion": 1,
}
CARD = "document.querySelector('balise-card')"


class Firefox:
    def __init__(self, client: Any, uuid: str) -> None:
        self.m = client
        self.uuid = uuid

    def extension_url(self, path: str) -> str:
        return f"moz-extension://{self.uuid}/{path}"

    # ---- scripts -----------------------------------------------------------------------

    def js(self, script: str, *args: Any) -> Any:
        """Run `script` (a function body) in the page's own world."""
        return self.m.execute_script(script, script_args=list(args), sandbox=None)

    def js_async(self, script: str, *args: Any) -> Any:
        """Run a function body that ends by calling `done(value)`."""
        body = "const done = arguments[arguments.length - 1];\n" + script
        return self.m.execute_async_script(body, script_args=list(args), sandbox=None)

    def in_card(self, script: str) -> Any:
        """Run a function body with `root` the card's (closed) shadow root, privileged."""
        body = f"const host = {CARD}; const root = host && host.openOrClosedShadowRoot;\n{script}"
        return self.m.execute_script(body, sandbox="system")

    def storage_set(self, items: dict[str, Any], *, remove: tuple[str, ...] = ()) -> None:
        """Write storage.local from the extension's options page (a trusted context), after
        removing `remove` (storage.onChanged, which empties the worker's cache, fires on
        changes only)."""
        self.m.navigate(self.extension_url("src/options/options.html"))
        assert self.js_async(
            "browser.storage.local.remove(arguments[1])"
            ".then(() => browser.storage.local.set(arguments[0])).then(() => done(1))",
            items,
            list(remove),
        )

    def storage_get(self, key: str) -> Any:
        return self.js_async(
            "browser.storage.local.get(arguments[0]).then(r => done(r[arguments[0]] ?? null))", key
        )

    def storage_remove(self, key: str) -> None:
        self.js_async("browser.storage.local.remove(arguments[0]).then(() => done(1))", key)

    # ---- the user ----------------------------------------------------------------------

    def element(self, selector: str) -> Any:
        return self.m.find_element("css selector", selector)

    def hover(self, selector: str) -> None:
        pointer = self.m.actions.sequence("pointer", "mouse", {"pointerType": "mouse"})
        pointer.pointer_move(0, 0, origin=self.element(selector)).perform()

    def move_away(self) -> None:
        pointer = self.m.actions.sequence("pointer", "mouse", {"pointerType": "mouse"})
        pointer.pointer_move(2, 2).perform()

    def press(self, key: str, *, shift: bool = False) -> None:
        from marionette_driver.keys import Keys

        keys = self.m.actions.sequence("key", "keyboard")
        if shift:
            keys.key_down(Keys.SHIFT)
        keys.key_down(key).key_up(key)
        if shift:
            keys.key_up(Keys.SHIFT)
        keys.perform()
        self.m.actions.release()

    def fill(self, selector: str, text: str) -> None:
        element = self.element(selector)
        element.clear()
        if text:
            element.send_keys(text)

    def active(self) -> str:
        return str(
            self.js(
                "const el = document.activeElement;"
                "return el.localName === 'balise-card' ? 'balise-card' : el.id || el.localName;"
            )
        )

    def cards(self) -> int:
        return int(self.js("return document.querySelectorAll('balise-card').length"))

    def wait_for_card(self, timeout: float = 5) -> None:
        wait_until(lambda: self.cards() == 1, timeout=timeout)

    def wait_no_card(self, timeout: float = 3) -> None:
        wait_until(lambda: self.cards() == 0, timeout=timeout)

    def focused_in_card(self) -> dict[str, Any] | None:
        value = self.in_card(
            "const el = root && root.activeElement;"
            "return el ? {cls: el.className, text: el.textContent,"
            " expanded: el.getAttribute('aria-expanded')} : null;"
        )
        return value if isinstance(value, dict) else None

    def shoot(self, name: str) -> None:
        time.sleep(0.2)
        screenshot_path(f"firefox_{name}").write_bytes(base64.b64decode(self.m.screenshot()))


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until Marionette listens. marionette-driver polls too, but leaks a socket per failed try."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Firefox did not open Marionette on port {port}") from None
            time.sleep(0.2)


@contextmanager
def running_firefox() -> Iterator[Firefox]:
    """Firefox ESR, headless, with Marionette on a free port and the extension installed."""
    from marionette_driver.addons import Addons
    from marionette_driver.marionette import Marionette

    scratch = Path(tempfile.mkdtemp(prefix="balise-firefox-"))
    extension = extension_copy(scratch / "extension")
    profile = scratch / "profile"
    profile.mkdir()
    port = free_port()
    prefs = {**PREFS, "marionette.port": port}
    (profile / "user.js").write_text(
        "".join(f'user_pref("{name}", {json.dumps(value)});\n' for name, value in prefs.items())
    )
    log = open(scratch / "firefox.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            FIREFOX,
            "--marionette",
            "--headless",
            "--remote-allow-system-access",  # for the privileged reads of the closed shadow root
            "--no-remote",
            "--profile",
            str(profile),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = Marionette(host="127.0.0.1", port=port, startup_timeout=60)
    try:
        wait_for_port(port, process)
        client.start_session()
        client.set_window_rect(width=1000, height=720)
        addon = Addons(client).install(str(extension), temp=True)
        with client.using_context("chrome"):
            uuid = client.execute_script(
                "return WebExtensionPolicy.getByID(arguments[0]).mozExtensionHostname",
                script_args=[addon],
            )
        yield Firefox(client, uuid)
    finally:
        try:
            client.delete_session()
        except Exception:  # noqa: S110 - Firefox may already be gone
            pass
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        shutil.rmtree(scratch, ignore_errors=True)
