"""Reading a French summary in Debian's Chromium on a real `balise serve`, phone and desktop,
light and dark. Screenshots go to BALISE_ARTIFACTS_DIR for people to look at."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(
    os.environ.get("BALISE_ARTIFACTS_DIR") or Path(__file__).resolve().parents[1] / "test-artifacts"
)
SUMMARY = {
    "lang": "fr",
    "title": "La ville plantera 10 000 arbres d'ici 2030",
    "teaser": "La mairie lance le plus grand plan de plantation de son histoire : "
    "12 millions d'euros sur six ans.",
    "recap": "La mairie a présenté mardi un plan de plantation de 10 000 arbres dans les rues et "
    "les cours d'école d'ici 2030.\n\nLe budget prévu est de 12 millions d'euros sur six ans. "
    "Les premiers chantiers commenceront à l'automne dans trois quartiers du nord.",
    "neutral": "D'autres grandes villes ont lancé des plans comparables ces dernières années ; "
    "leurs résultats dépendent surtout de l'arrosage des jeunes arbres.",
    "example": "C'est comme installer un climatiseur naturel dans chaque rue : il faut quelques "
    "années avant qu'il rafraîchisse vraiment.",
    "optimistic": "Des rues plus fraîches l'été, plus de biodiversité et des cours d'école "
    "enfin ombragées.",
    "pessimistic": "Le calendrier est jugé trop lent par l'opposition, et l'entretien pèsera "
    "sur les budgets futurs.",
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium not found at {CHROMIUM}"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _call(url: str, key: str, body: dict) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - 127.0.0.1
        return json.loads(response.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`balise serve` on a free port with a fresh data dir; yields (base URL, admin key)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "BALISE_DATA_DIR": str(tmp_path_factory.mktemp("instance")),
        "BALISE_PORT": str(port),
        "BALISE_BASE_URL": base,
        "BALISE_DATABASE_URL": "",
        "BALISE_THREADS": "2",
        "BALISE_FETCH_METADATA": "0",  # no background fetches of test targets
    }
    balise = [str(Path(sys.executable).with_name("balise"))]
    subprocess.run([*balise, "db", "upgrade"], env=env, check=True, capture_output=True)
    created = subprocess.run(
        [*balise, "keys", "create", "--name", "e2e", "--role", "admin"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = created.stdout.strip().splitlines()[-1]
    proc = subprocess.Popen([*balise, "serve"], env=env, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("balise serve did not start")
        yield base, key
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(
    ("device", "viewport"),
    [("phone", {"width": 390, "height": 844}), ("desktop", {"width": 1280, "height": 900})],
)
def test_reader_page_shows_the_french_summary(server, browser, device, viewport, scheme):
    base, key = server
    slug = f"arbres-{device}-{scheme}"
    _call(
        base + "/api/v1/links",
        key,
        {
            "url": "https://news.example/2026/arbres",
            "slug": slug,
            "lang": "fr",
            "redirect_delay": 10,  # time to look before it leaves
            "summary": SUMMARY,
        },
    )
    context = browser.new_context(
        viewport=viewport,
        color_scheme=scheme,
        device_scale_factor=2 if device == "phone" else 1,
        is_mobile=device == "phone",
        locale="fr-FR",
    )
    page = context.new_page()
    page.route("https://news.example/**", lambda route: route.abort())
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    try:
        page.goto(f"{base}/{slug}")
        assert page.locator("#countdown-text").inner_text().startswith("Redirection dans ")
        headings = page.locator(".summary h2").all_inner_texts()
        assert [h.lower() for h in headings] == [
            "récapitulatif factuel",
            "point de vue neutre",
            "exemple",
            "point de vue optimiste",
            "point de vue pessimiste",
            "article en référence",
        ]
        assert page.locator(".summary .recap p").count() == 2
        assert page.locator(".teaser").is_visible()
        assert page.locator("#go").is_visible()
        overflow = page.evaluate(
            "document.scrollingElement.scrollWidth > document.documentElement.clientWidth"
        )
        assert not overflow, "the page scrolls sideways"
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        channels = [int(c) for c in background[background.index("(") + 1 : -1].split(",")[:3]]
        assert (sum(channels) < 150) == (scheme == "dark"), background
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"summary-{device}-{scheme}.png"), full_page=True)
        assert not [p for p in problems if "Content Security Policy" in p], problems
    finally:
        context.close()
