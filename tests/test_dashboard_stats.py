"""Stats pages, CSV export and read-only share links, as a marketer and a client see them."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert

from balise.accounts import shares
from balise.analytics.clicks import count_visitors
from balise.analytics.rollups import add_clicks
from balise.analytics.visitors import day_of
from balise.db.counters import increment_hourly
from balise.db.tables import clicks
from balise.links import store as links

NOW = datetime.now(timezone.utc).replace(minute=30, second=0, microsecond=0)


def seed(db, link, *, hours_ago=(1, 2, 26), people=3) -> None:
    """`people` clicks in each of the hours `hours_ago` (one confirmed), plus a bot."""
    rows, counts = [], []
    for h in hours_ago:
        when = NOW - timedelta(hours=h)
        for i in range(people):
            rows.append(
                {
                    "uid": secrets.token_hex(8),
                    "link_id": link.id,
                    "ts": when,
                    "referrer_host": "t.co" if i else "news.example",
                    "browser": "Firefox",
                    "os": "Linux",
                    "device": "mobile" if i else "desktop",
                    "country": "FR",
                    "utm_source": "mastodon",
                    "visitor_hash": f"v{h}-{i}",
                    "dnt": False,
                    "confirmed_at": when if i == 0 else None,
                }
            )
        counts.append(
            {"link_id": link.id, "hour": when, "clicks": people, "confirmed": 1, "bots": 1}
        )
    with db.begin() as conn:
        conn.execute(insert(clicks), rows)
        increment_hourly(conn, counts)
        add_clicks(conn, [{**r, "confirmed": int(r["confirmed_at"] is not None)} for r in rows])
        count_visitors(  # as the batch writer does: daily visitors, counted per day
            conn,
            [
                {"link_id": r["link_id"], "day": day_of(r["ts"]), "visitor_hash": r["visitor_hash"]}
                for r in rows
            ],
        )


def total(html: str, label: str) -> int:
    found = re.search(
        rf'<span class="label">{label}</span><span class="value">([^<]+)</span>', html
    )
    assert found, label
    return int(re.sub(r"\D", "", found.group(1)))


def test_link_stats_show_totals_charts_and_top_lists(viewer, make_link, db):
    link = make_link(slug="promo", title="Promo")
    seed(db, link)
    viewer.client.set_cookie("balise_tz", "Europe/Paris", path="/")
    r = viewer.get("/dashboard/links/promo/stats?range=7d")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert (total(html, "Clics"), total(html, "Confirmés"), total(html, "Robots")) == (9, 3, 3)
    assert total(html, "Visiteurs uniques") == 9
    assert html.count('class="chart chart-wide"') == 2 and html.count("chart-narrow") == 2
    assert 'role="img"' in html and "<desc" in html
    assert html.count('<tr><th scope="row">') >= 7  # the numbers table: one row a day
    assert re.search(r"t\.co</a>\s*<svg", html) and "🇫🇷 FR" in html and "Mobile" in html
    assert "par jour · Europe/Paris" in html


def test_the_chart_overlays_the_previous_period_with_a_legend(viewer, make_link, db):
    link = make_link(slug="promo", title="Promo")
    seed(db, link)  # 9 clicks this week
    seed(db, link, hours_ago=(24 * 9,), people=4)  # 4 clicks the week before
    html = viewer.get("/dashboard/links/promo/stats?range=7d").get_data(as_text=True)
    chart = html.split('<section class="card chart-card" aria-labelledby="h-chart-clicks">')[1]
    chart = chart.split("</section>")[0]
    legend = chart.split('<ul class="legend">')[1].split("</ul>")[0]
    assert "Clics, période précédente" in legend  # the legend names the dashed line
    assert "ligne pointillée" in chart  # and the chart's description says what it is
    for svg in re.findall(r'<svg class="chart chart-(?:wide|narrow)".*?</svg>', chart, re.S):
        found = re.search(
            r'<path class="line s-previous" d="([^"]+)" data-label="([^"]+)"><title>', svg
        )
        assert found and found.group(2) == "Clics, période précédente"
        heights = {float(y) for y in re.findall(r"[ML][\d.]+,([\d.]+)", found.group(1))}
        assert len(heights) == 2  # flat at zero but for the one day with 4 clicks
    table = chart.split('<table class="numbers">')[1].split("</table>")[0]
    header = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', table)
    column = header.index("Clics, période précédente") - 1
    rows = re.findall(r"<tr><th scope=\"row\">.*?</tr>", table, re.S)
    cells = [re.findall(r'<td class="num">([^<]+)</td>', row)[column] for row in rows]
    assert sorted(int(c) for c in cells)[-1] == 4 and sum(int(c) for c in cells) == 4
    assert total(html, "Clics") == 9


@pytest.mark.parametrize(
    ("query", "label", "rows"),
    [
        ("range=24h", "par heure", 24),
        ("range=30d", "par jour", 30),
        ("range=12m", "par semaine", None),
        ("range=custom&from=2026-01-01&to=2026-03-01&interval=hour", "par jour", 60),
    ],
)
def test_range_presets_and_chosen_dates(viewer, make_link, query, label, rows):
    make_link(slug="promo")
    html = viewer.get(f"/dashboard/links/promo/stats?{query}").get_data(as_text=True)
    assert f"{label} · UTC" in html
    table = html.split('<table class="numbers">')[1].split("</table>")[0]
    if rows is not None:
        assert table.count('<tr><th scope="row">') == rows


@pytest.mark.parametrize(
    "query",
    [
        "from=yesterday",
        "from=0001-01-01&tz=Asia/Tokyo",
        "from=2026-01-01&to=9999-12-31",
        "from=1990-01-01",
    ],
)
def test_malformed_or_far_dates_are_a_clear_error(viewer, make_link, query):
    make_link(slug="promo")
    r = viewer.get(f"/dashboard/links/promo/stats?range=custom&{query}")
    assert r.status_code == 422
    r = viewer.get(f"/dashboard/links/promo/clicks.csv?range=custom&{query}")
    assert r.status_code == 422


def top_list(html: str, name: str) -> str:
    return html.split(f'id="h-top-{name}"')[1].split("</table>")[0]


def test_all_links_stats_rank_the_links_by_title(viewer, make_link, db):
    seed(db, make_link(slug="first"), people=2)
    seed(db, make_link(slug="second", title="Spring sale"), people=4)
    html = viewer.get("/dashboard/stats?range=7d").get_data(as_text=True)
    assert total(html, "Clics") == 18
    top = top_list(html, "links")
    assert top.index("second") < top.index("first")
    assert re.search(
        r'href="/dashboard/links/second/stats">Spring sale</a> <span class="muted slug">second<',
        top,
    )


def test_clicks_without_a_value_have_their_own_row(viewer, make_link, db):
    seed(db, make_link(slug="promo"), people=3)
    with db.begin() as conn:  # a click with nothing known about it (DNT)
        row = {"uid": "x1", "link_id": 1, "ts": NOW - timedelta(hours=1), "dnt": True}
        row["link_id"] = links.get_link_by_slug(conn, "promo").id
        conn.execute(insert(clicks), [row])
        increment_hourly(conn, [{"link_id": row["link_id"], "hour": row["ts"], "clicks": 1}])
        add_clicks(conn, [row])
    html = viewer.get("/dashboard/links/promo/stats?range=7d").get_data(as_text=True)
    assert total(html, "Clics") == 10
    referrers = top_list(html, "referrers")
    assert "Direct / inconnu" in referrers and "10.0" in referrers
    assert "Aucun / inconnu" in top_list(html, "utm_campaign")


def test_csv_export_of_the_range(viewer, make_link, db):
    link = make_link(slug="promo")
    seed(db, link, hours_ago=(1, 24 * 40))
    r = viewer.get("/dashboard/links/promo/clicks.csv?range=7d")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="promo-clicks-')
    lines = r.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("time,link,referrer_host")
    assert len(lines) == 1 + 3  # the clicks of 40 days ago are outside the range


def share_url_of(response) -> str:
    found = re.search(
        r'id="share-url" type="text" value="https://s\.test(/share/[^"]+)"',
        response.get_data(as_text=True),
    )
    assert found, "no share URL on the page"
    return found.group(1)


def test_a_share_link_shows_that_links_stats_and_nothing_else(editor, make_link, db, app):
    link = make_link(slug="promo", title="Promo de mars")
    seed(db, link)
    r = editor.post("/dashboard/links/promo/share", {"expires": "30"})
    assert r.status_code == 201
    path = share_url_of(r)
    stranger = app.test_client()
    shared = stranger.get(path + "?range=7d")
    html = shared.get_data(as_text=True)
    assert shared.status_code == 200
    assert "Promo de mars" in html and total(html, "Clics") == 9
    assert (
        'href="/dashboard' not in html and "csrf_token" not in html and 'method="post"' not in html
    )
    assert shared.headers["Referrer-Policy"] == "no-referrer"
    assert shared.headers["Cache-Control"] == "no-store"
    assert "unsafe-inline" not in shared.headers["Content-Security-Policy"]
    assert stranger.get("/dashboard/links/promo/clicks.csv").status_code == 302
    assert stranger.get("/dashboard/links/promo/stats").status_code == 302


def test_a_tampered_share_link_is_refused(editor, make_link, app):
    make_link(slug="promo")
    other = make_link(slug="secret-campaign")
    path = share_url_of(editor.post("/dashboard/links/promo/share", {"expires": "7"}))
    payload, signature = path.removeprefix("/share/").split(".")
    # Change a character in the middle: the last one may only carry base64 padding bits.
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B")
    flipped += signature[middle + 1 :]
    forged_payload = shares.URLSafeSerializer("x").dump_payload([other.id, 4102444800]).decode()
    stranger = app.test_client()
    for bad in (f"{payload}.{flipped}", f"{forged_payload}.{signature}", payload, "nonsense"):
        r = stranger.get(f"/share/{bad}")
        assert r.status_code == 404, bad
        assert "Lien de partage invalide" in r.get_data(as_text=True)


def test_an_expired_share_link_is_refused(make_link, db, app, client):
    link = make_link(slug="promo")
    with db.begin() as conn:
        secret = links.rotate_share_secret(conn, link)
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    token = shares.make_token(app.config["SECRET_KEY"], link.id, secret, past)
    r = client.get(f"/share/{token}")
    assert r.status_code == 410
    assert "Lien de partage expiré" in r.get_data(as_text=True)


def test_revoking_rotates_the_secret_and_ends_every_share_link(editor, make_link, app):
    make_link(slug="promo")
    old = share_url_of(editor.post("/dashboard/links/promo/share", {"expires": "7"}))
    assert editor.post("/dashboard/links/promo/share/revoke").status_code == 302
    stranger = app.test_client()
    assert stranger.get(old).status_code == 404
    new = share_url_of(editor.post("/dashboard/links/promo/share", {"expires": "7"}))
    assert stranger.get(new).status_code == 200


def test_share_expiry_is_chosen_and_bounded(editor, make_link):
    make_link(slug="promo")
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=2)).date().isoformat()
    r = editor.post("/dashboard/links/promo/share", {"expires": "custom", "expires_on": tomorrow})
    assert r.status_code == 201
    for bad in (
        {"expires": "custom", "expires_on": "2001-01-01"},
        {"expires": "custom", "expires_on": "2999-01-01"},
        {"expires": "custom", "expires_on": ""},
        {"expires": "custom", "expires_on": "9999-12-31"},
        {"expires": "3650"},
    ):
        r = editor.post("/dashboard/links/promo/share", bad)
        assert r.status_code == 422, bad
        assert "dans l&#39;année qui vient" in r.get_data(as_text=True)


def test_a_viewer_reads_stats_but_cannot_share(viewer, make_link):
    make_link(slug="promo")
    html = viewer.get("/dashboard/links/promo/stats").get_data(as_text=True)
    assert "/dashboard/links/promo/share" not in html
    assert viewer.post("/dashboard/links/promo/share", {"expires": "7"}).status_code == 403
    assert viewer.post("/dashboard/links/promo/share/revoke").status_code == 403


def test_share_tokens_refuse_malformed_payloads():
    def secret_of(link_id: int) -> str:
        return "s"

    key = "app-secret"
    fingerprint = shares._fingerprint("s")
    for payload in ([1], [1, 4102444800], [True, 5, fingerprint], ["1", 5, fingerprint],
                    [7, 4102444800, 3], [7, 10**20, fingerprint], {"l": 1}, None):  # fmt: skip
        token = shares.URLSafeSerializer(key, salt=shares.SALT).dumps(payload)
        with pytest.raises(shares.ShareInvalid):
            shares.read_token(key, token, secret_of)
    good = shares.make_token(key, 7, "s", datetime.now(timezone.utc) + timedelta(days=1))
    assert shares.read_token(key, good, secret_of)[0] == 7
    with pytest.raises(shares.ShareInvalid):
        shares.read_token("another-app", good, secret_of)
