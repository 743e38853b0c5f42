"""The site root and the error pages: what a reader who lands off a link sees."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from balise.config import SettingError
from tests.clickutil import flushed
from tests.conftest import BASE_URL
from tests.test_reader import Page, sha256_source


@pytest.mark.parametrize(
    ("accept", "lang", "heading", "dashboard"),
    [
        ("fr-FR", "fr", "Balise", "Ouvrir le tableau de bord"),
        ("en", "en", "Balise", "Open the dashboard"),
    ],
)
def test_the_root_says_what_this_server_is_in_the_readers_language(
    client, accept, lang, heading, dashboard
):
    r = client.get("/", headers={"Accept-Language": accept})
    assert r.status_code == 200
    assert r.headers["Content-Language"] == lang
    page = Page(r.get_data(as_text=True))
    assert page.lang == lang
    assert heading in page.visible_text
    assert f"{BASE_URL}/abc123" in page.visible_text  # what a short link looks like here
    [link] = [a for a in page.anchors if a["text"] == dashboard]
    assert link["href"] == "/dashboard/"
    assert all(sha256_source(s) in r.headers["Content-Security-Policy"] for s in page.styles)


def test_the_root_redirects_where_the_setting_says(settings):
    from balise import create_app

    app = create_app(settings | {"ROOT_REDIRECT": "https://www.example.org/"})
    try:
        r = app.test_client().get("/")
    finally:
        app.extensions["balise"].shutdown()
    assert r.status_code == 302
    assert r.headers["Location"] == "https://www.example.org/"


def test_a_root_redirect_that_is_not_a_web_address_is_refused(settings):
    from balise import create_app

    with pytest.raises(SettingError, match="BALISE_ROOT_REDIRECT"):
        create_app(settings | {"ROOT_REDIRECT": "javascript:alert(1)"})


def test_the_404_page_offers_the_way_home(client):
    r = client.get("/nothere", headers={"Accept-Language": "en"})
    assert r.status_code == 404
    page = Page(r.get_data(as_text=True))
    assert [a["href"] for a in page.anchors if a["text"] == "Go to the home page"] == ["/"]


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"disabled": True}, "Its owner has disabled this link."),
        (
            {"expires_at": datetime.now(timezone.utc) - timedelta(minutes=1)},
            "This link has expired: it was only valid until a set date.",
        ),
    ],
)
def test_the_410_page_says_why_without_revealing_the_target(client, make_link, fields, says):
    make_link(slug="gone", url="https://secret.example/hidden-path", **fields)
    for path in ("/gone", "/gone+"):
        r = client.get(path, headers={"Accept-Language": "en"})
        assert r.status_code == 410
        html = r.get_data(as_text=True)
        assert says in Page(html).visible_text
        assert "secret.example" not in html
        assert [a["href"] for a in Page(html).anchors] == ["/"]


def test_the_410_page_of_a_used_up_link_says_so_in_french(app, client, make_link):
    make_link(slug="usee", url="https://secret.example/x", max_clicks=1)
    assert client.get("/usee").status_code == 200
    flushed(app)
    r = client.get("/usee", headers={"Accept-Language": "fr"})
    assert r.status_code == 410
    html = r.get_data(as_text=True)
    assert "Ce lien a été utilisé autant de fois qu'il le permettait." in Page(html).visible_text
    assert "secret.example" not in html
    problem = client.get("/usee", headers={"Accept": "application/json"}).get_json()
    assert (problem["status"], problem["reason"]) == (410, "exhausted")
