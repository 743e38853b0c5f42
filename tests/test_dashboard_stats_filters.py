"""Stats pages as a marketer reads them: filters from the top lists, changes from the previous
period, one word for an empty period, hints on the jargon."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

from balise.analytics.rollups import add_clicks
from balise.db.counters import increment_hourly
from tests.test_dashboard_stats import NOW, seed, top_list, total

NOW_HALF_PAST = NOW - timedelta(hours=1)


def link_in(fragment: str, text: str) -> str:
    found = re.search(r'<a class="filter" href="([^"]+)"[^>]*>\s*' + re.escape(text), fragment)
    assert found, text
    return html_lib.unescape(found.group(1))


def test_clicking_a_top_list_entry_filters_the_whole_page(viewer, make_link, db):
    seed(db, make_link(slug="promo"))  # each hour: 2 mobile clicks from t.co, 1 desktop direct
    page = viewer.get("/dashboard/links/promo/stats?range=7d").get_data(as_text=True)
    assert total(page, "Clics") == 9 and total(page, "Robots") == 3
    url = link_in(top_list(page, "referrers"), "t.co")
    assert url == "/dashboard/links/promo/stats?range=7d&referrer=t.co"  # the URL keeps it

    page = viewer.get(url).get_data(as_text=True)
    assert total(page, "Clics") == 6
    assert "Robots" not in page  # robots carry no referrer: not shown under a filter
    assert "Sites d&#39;origine: <strong>t.co</strong>" in page
    devices = top_list(page, "devices")
    assert "Mobile" in devices and "Ordinateur" not in devices

    both = link_in(top_list(page, "devices"), "Mobile")
    assert both == url + "&device=mobile"
    page = viewer.get(both).get_data(as_text=True)
    assert total(page, "Clics") == 6 and page.count('class="chip"') == 2
    remove = re.search(r'<a class="chip" href="([^"]+)"', page)
    assert remove and html_lib.unescape(remove.group(1)) == (
        "/dashboard/links/promo/stats?range=7d&device=mobile"
    )
    everything = re.search(r'<a class="chip-clear" href="([^"]+)"', page)
    assert everything and html_lib.unescape(everything.group(1)).endswith("?range=7d")


def test_direct_visits_are_a_filter_too(viewer, make_link, db):
    seed(db, make_link(slug="promo"))
    page = viewer.get("/dashboard/stats?range=7d&referrer=news.example").get_data(as_text=True)
    assert total(page, "Clics") == 3
    # all links on two dimensions: unique visitors are not counted, and the page says so
    page = viewer.get("/dashboard/stats?range=7d&referrer=t.co&device=mobile").get_data(
        as_text=True
    )
    assert total(page, "Clics") == 6
    assert 'Visiteurs uniques</span><span class="value">—<' in page
    assert "comptés sous un filtre d’une seule valeur" in page
    page = viewer.get("/dashboard/stats?range=7d&country=").get_data(as_text=True)
    assert total(page, "Clics") == 0  # every seeded click has a country
    assert "Pays: <strong>Aucun / inconnu</strong>" in page


def test_each_total_shows_its_change_from_the_previous_period(viewer, make_link, db):
    link = make_link(slug="promo")
    seed(db, link)  # 9 clicks in the last 7 days
    seed(db, link, hours_ago=(24 * 9,))  # 3 clicks in the 7 days before
    page = viewer.get("/dashboard/links/promo/stats?range=7d").get_data(as_text=True)
    clicks = page.split('class="total main"')[1].split("</li>")[0]
    assert re.search(r'class="change up">\+200\W*%\s*par rapport à la période précédente', clicks)


def test_an_empty_period_says_so_once(viewer, make_link):
    make_link(slug="promo")
    page = viewer.get("/dashboard/links/promo/stats?range=7d").get_data(as_text=True)
    assert page.count("Aucun clic sur cette période.") == 1
    assert 'class="card top"' not in page


def test_the_jargon_is_explained_where_it_stands(viewer, make_link, db):
    seed(db, make_link(slug="promo"))
    page = viewer.get("/dashboard/links/promo/stats?range=7d").get_data(as_text=True)
    assert "Servis, non confirmés : la page a été envoyée sans jamais le signaler" in page
    assert "Le navigateur du lecteur a affiché la page" in page


def test_a_new_share_link_opens_where_it_is_shown(editor, make_link):
    make_link(slug="promo")
    page = editor.get("/dashboard/links/promo/stats").get_data(as_text=True)
    assert 'action="/dashboard/links/promo/share#h-share-report"' in page


def test_no_country_known_still_says_why(viewer, make_link, db):
    link = make_link(slug="promo")
    with db.begin() as conn:
        add_clicks(conn, [{"link_id": link.id, "ts": NOW_HALF_PAST}])
        increment_hourly(conn, [{"link_id": link.id, "hour": NOW_HALF_PAST, "clicks": 1}])
    page = viewer.get("/dashboard/links/promo/stats?range=7d").get_data(as_text=True)
    countries = page.split('id="h-top-countries"')[1].split("</section>")[0]
    # Said in the viewer's language; the setting's name is for the README, not for clients.
    assert "ce serveur ne cherche pas d&#39;où viennent les clics" in countries
    assert "BALISE_GEOIP_DB" not in countries
