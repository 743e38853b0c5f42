"""Filters, tags and comparisons on the statistics API, checked against the raw clicks."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from balise.analytics.filters import PARAMS
from balise.db.tables import clicks
from tests.test_rollups import START, random_hits, write

DAYS = 20


def seed(db, make_link):
    """600 random clicks over 20 days on 4 links, two of them tagged "spring"."""
    rng = random.Random(2026)
    spring = [make_link(tags=["spring"]).id for _ in range(2)]
    ids = [*spring, make_link().id, make_link().id]
    hits = random_hits(rng, ids, 600)
    with db.begin() as conn:
        for i in range(0, len(hits), 150):
            write(conn, hits[i : i + 150], day_salts=True)
        raw = conn.execute(select(clicks)).all()
    return spring, raw


def get(client, headers, params):
    r = client.get("/api/v1/stats", query_string=params, headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def expected(raw, start, end, chosen, links=None):
    """What the answer must say, counted in Python over the raw clicks."""
    kept = [
        c
        for c in raw
        if start <= c.ts < end
        and (links is None or c.link_id in links)
        and all((getattr(c, PARAMS[name]) or "") in values for name, values in chosen.items())
    ]
    return {
        "clicks": len(kept),
        "confirmed": sum(c.confirmed_at is not None for c in kept),
        "unique_visitors": len({c.visitor_hash for c in kept if c.visitor_hash}),
    }, kept


def random_filter(rng, raw):
    chosen = {}
    for name in rng.sample(sorted(PARAMS), rng.randint(1, 3)):
        present = sorted({getattr(c, PARAMS[name]) or "" for c in raw})
        chosen[name] = rng.sample(present, rng.randint(1, min(2, len(present))))
    return chosen


def test_every_number_respects_the_filters(client, viewer_headers, db, make_link):
    _, raw = seed(db, make_link)
    rng = random.Random(13)
    start, end = START, START + timedelta(days=DAYS)
    for _ in range(8):
        chosen = random_filter(rng, raw)
        params = [*((n, v) for n, vs in chosen.items() for v in vs), ("top", "100")]
        params += [("from", "2026-03-01"), ("to", "2026-03-21")]
        body = get(client, viewer_headers, params)
        want, kept = expected(raw, start, end, chosen)
        if sum(len(vs) for vs in chosen.values()) > 1:  # see uniques.py: not counted
            want["unique_visitors"] = None
        totals = body["totals"]
        assert {k: totals[k] for k in want} == want, chosen
        assert totals["bots"] is None and totals["preview_views"] is None
        per_day = Counter(c.ts.date().isoformat() for c in kept)
        assert {p["start"][:10]: p["clicks"] for p in body["series"] if p["clicks"]} == per_day
        for name, column in {"referrers": "referrer_host", "countries": "country"}.items():
            top = {row["value"]: row["clicks"] for row in body["top"][name]}
            assert top == dict(Counter(getattr(c, column) for c in kept))
        assert sum(row["clicks"] for row in body["top"]["links"]) == want["clicks"]
        assert body["filters"] == {n: [v or None for v in vs] for n, vs in chosen.items()}


def test_a_tag_and_a_campaign_across_links(client, viewer_headers, db, make_link):
    spring, raw = seed(db, make_link)
    dates = [("from", "2026-03-01"), ("to", "2026-03-21")]
    body = get(client, viewer_headers, [("tag", "spring"), *dates])
    want, _ = expected(raw, START, START + timedelta(days=DAYS), {}, links=set(spring))
    assert {k: body["totals"][k] for k in want} == want
    assert isinstance(body["totals"]["bots"], int)  # a tag keeps the robots' counters
    assert len(body["top"]["links"]) == 2
    body = get(client, viewer_headers, [("utm_campaign", "newsletter"), ("top", "100"), *dates])
    want, _ = expected(raw, START, START + timedelta(days=DAYS), {"utm_campaign": ["newsletter"]})
    assert body["totals"]["clicks"] == want["clicks"] > 0
    assert body["top"]["utm_campaign"] == [{"value": "newsletter", "clicks": want["clicks"]}]


def test_compare_adds_the_previous_range_with_the_same_filters(
    client, viewer_headers, db, make_link
):
    _, raw = seed(db, make_link)
    params = [("from", "2026-03-11"), ("to", "2026-03-21"), ("compare", "previous")]
    params += [("referrer", ""), ("referrer", "t.co")]  # direct visits, or from t.co
    body = get(client, viewer_headers, params)
    chosen = {"referrer": ["", "t.co"]}
    now, _ = expected(raw, START + timedelta(days=10), START + timedelta(days=20), chosen)
    before, _ = expected(raw, START, START + timedelta(days=10), chosen)
    assert body["totals"]["clicks"] == now["clicks"]
    previous = body["previous"]
    assert (previous["from"], previous["to"]) == ("2026-03-01T00:00:00Z", "2026-03-11T00:00:00Z")
    before["unique_visitors"] = None  # two values: a visitor of both would count twice
    assert {k: previous["totals"][k] for k in before} == before
    assert get(client, viewer_headers, params[:2]).get("previous") is None
