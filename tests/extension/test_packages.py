"""`npm run build` makes both store packages, with the extension and nothing else in them."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.extension.harness import EXTENSION

NODE = shutil.which("node")


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, zipfile.ZipFile]:
    if NODE is None:
        pytest.skip("Node.js is not installed")
    if not (EXTENSION / "node_modules" / "web-ext").exists():
        pytest.skip("the extension's npm packages are not installed: run `npm ci` in extension/")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [NODE, "scripts/build.js", str(out)],
        cwd=EXTENSION,
        check=True,
        capture_output=True,
        timeout=300,
    )
    version = json.loads((EXTENSION / "manifest.json").read_text())["version"]
    return {
        browser: zipfile.ZipFile(out / f"balise-{browser}-{version}.zip")
        for browser in ("firefox", "chromium")
    }


def shipped(source: Path) -> set[str]:
    """What a package must hold: the manifest, locales, icons and sources."""
    names = {"manifest.json"}
    for folder in ("_locales", "icons", "src"):
        names |= {
            p.relative_to(source).as_posix() for p in (source / folder).rglob("*") if p.is_file()
        }
    return names


@pytest.mark.parametrize("browser", ["firefox", "chromium"])
def test_each_package_holds_the_extension_and_nothing_else(packages, browser):
    names = {n for n in packages[browser].namelist() if not n.endswith("/")}
    folders = {n.rstrip("/") for n in packages[browser].namelist() if n.endswith("/")}
    assert names == shipped(EXTENSION)
    assert not folders & {"test", "scripts", "node_modules", "dist"}, "no empty folders either"
    assert "src/content.bundle.js" in names and "src/popup/popup.html" in names


def test_the_chromium_manifest_leaves_out_what_chromium_does_not_know(packages):
    firefox = json.loads(packages["firefox"].read("manifest.json"))
    chromium = json.loads(packages["chromium"].read("manifest.json"))
    assert firefox["browser_specific_settings"]["gecko"]["id"] == "balise@balise.invalid"
    assert "browser_specific_settings" not in chromium
    assert "scripts" not in chromium["background"]
    assert chromium["action"]["default_popup"] == "src/popup/popup.html"
    assert "web_accessible_resources" not in chromium
    for manifest in (firefox, chromium):
        assert manifest["content_security_policy"]["extension_pages"] == (
            "script-src 'self'; object-src 'self'"
        )
