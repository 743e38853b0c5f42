"""The campaigns page: campaigns and tags across links, each leading to its statistics."""

from __future__ import annotations

import html as html_lib
import re

from balise.analytics.clicks import Hit
from tests.test_dashboard_stats import NOW, seed
from tests.test_rollups import write


def clicks_of(db, link, campaign, n):
    hits = [
        Hit("click", link.id, NOW, uid=f"{campaign}{link.id}{i}", utm=(None, None, campaign))
        for i in range(n)
    ]
    with db.begin() as conn:
        write(conn, hits)


def test_campaigns_and_tags_with_their_totals(viewer, make_link, db):
    a, b = make_link(slug="aaa", tags=["spring"]), make_link(slug="bbb", tags=["spring", "press"])
    clicks_of(db, a, "spring-sale", 3)
    clicks_of(db, b, "spring-sale", 2)
    clicks_of(db, b, "newsletter", 1)
    seed(db, make_link(slug="ccc"))  # 9 clicks without a campaign, no tag
    page = viewer.get("/dashboard/campaigns?range=7d").get_data(as_text=True)
    assert 'aria-current="page">Campagnes<' in page
    # campaigns: clicks and unique visitors (one: the same address and browser, the same day)
    rows = re.findall(
        r'<a href="([^"]+)">([^<]+)</a></th><td class="num">(\d+)</td>'
        r'<td class="num">(\d+)</td></tr>',
        page,
    )
    found = [(html_lib.unescape(url), name, int(c), int(n)) for url, name, c, n in rows]
    assert found == [
        ("/dashboard/stats?range=7d&utm_campaign=spring-sale", "spring-sale", 5, 1),
        ("/dashboard/stats?range=7d&utm_campaign=newsletter", "newsletter", 1, 1),
    ]
    # tags: clicks, confirmed clicks and links
    rows = re.findall(
        r'<a href="([^"]+)">([^<]+)</a></th><td class="num">(\d+)</td>'
        r'<td class="num">(\d+)</td><td class="num">(\d+)</td>',
        page,
    )
    found = [(html_lib.unescape(url), name, int(c), int(n)) for url, name, c, _, n in rows]
    assert found == [
        ("/dashboard/stats?range=7d&tag=spring", "spring", 6, 2),
        ("/dashboard/stats?range=7d&tag=press", "press", 3, 1),
    ]
    campaign = viewer.get("/dashboard/stats?range=7d&utm_campaign=spring-sale").get_data(
        as_text=True
    )
    assert re.search(r'<span class="label">Clics</span><span class="value">5<', campaign)
    tagged = viewer.get(found[0][0]).get_data(as_text=True)
    assert re.search(r'<span class="label">Clics</span><span class="value">6<', tagged)
