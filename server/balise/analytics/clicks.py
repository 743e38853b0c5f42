"""Clicks: what one request to a short link leaves in storage, and nothing more.

A `Hit` is what the reader view observed (it holds the client address and user agent in memory
only); `write_batch` anonymises hits into rows (browser, OS, device, country, visitor hash),
applies beacon confirmations and adds to the hourly counters and the click rollups
(rollups.py), in one transaction. The
`Recorder` (recorder.py) calls it from its writer thread. Owns `clicks`, `robot_hits` and
`daily_visitors`; adds to `hourly_counts` through db.counters.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from operator import attrgetter
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Executable, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from balise.analytics import valuevisitors
from balise.analytics.classify import BOT, CLICK, PREFETCH, agent_facts
from balise.analytics.previews import delete_past_viewers
from balise.analytics.rollups import DIMENSIONS, add_clicks
from balise.analytics.visitors import day_of, delete_past_salts, visitor_hash
from balise.db.bulk import insert_many
from balise.db.counters import add_periods, increment_hourly
from balise.db.tables import (
    clicks,
    daily_visitors,
    hourly_counts,
    links,
    robot_hits,
    site_visitors,
)
from balise.integrations import outbox

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(slots=True)
class Hit:
    """One GET of a short link as observed; `ip` and `user_agent` never reach storage.

    Made for every reader request, and pickled to the click store process in batches: slots,
    not frozen (a frozen dataclass sets each field through object.__setattr__: 1.7 us against
    0.5), and pickled as its fields (0.5 us to dump, 0.3 to load, half the bytes of a dict).
    Nothing changes a hit once made.
    """

    kind: str  # click | bot | prefetch
    link_id: int
    ts: datetime
    uid: str | None = None  # clicks only: names the click in its beacon token
    ip: str | None = field(default=None, repr=False)
    user_agent: str | None = field(default=None, repr=False)
    referrer: str | None = None
    utm: tuple[str | None, str | None, str | None] = (None, None, None)
    dnt: bool = False
    agent: str | None = None  # bots: the crawler's name

    def __reduce__(self) -> tuple[type[Hit], tuple[Any, ...]]:
        return Hit, _HIT_FIELDS(self)


_HIT_FIELDS = attrgetter(*(f.name for f in fields(Hit)))
_NO_UTM = (None, None, None)


@dataclass(frozen=True)
class Confirmation:
    """A beacon naming a served click: counted once, however often it is replayed."""

    uid: str
    link_id: int
    clicked_at: datetime


@dataclass
class BatchResult:
    clicks_by_link: Counter[int] = field(default_factory=Counter)
    confirmed: int = 0
    unmatched: list[Confirmation] = field(default_factory=list)  # click not stored yet


def clean(value: str | None, length: int) -> str | None:
    """Strip control characters and bound the length; empty becomes None."""
    if not value:
        return None
    value = _CONTROL.sub("", value).strip()[:length]
    return value or None


def observe(
    kind: str,
    link_id: int,
    ts: datetime,
    *,
    uid: str | None,
    ip: str | None,
    user_agent: str | None,
    referrer: str | None,
    args: Mapping[str, str],
    dnt: bool,
    agent: str | None = None,
) -> Hit:
    """The hit to record; with DNT or GPC, a click keeps nothing but its link and time."""
    if kind == BOT:
        return Hit(kind, link_id, ts, agent=clean(agent, 64))
    if kind == PREFETCH:  # the browser family is kept (computed later), nothing else
        return Hit(kind, link_id, ts, user_agent=user_agent or "")
    if dnt:
        return Hit(kind, link_id, ts, uid=uid, dnt=True)
    utm = tuple(clean(args.get(name), 255) for name in UTM_FIELDS) if args else _NO_UTM
    return Hit(
        kind,
        link_id,
        ts,
        uid=uid,
        ip=ip,
        user_agent=user_agent or "",
        referrer=referrer,
        utm=utm,  # type: ignore[arg-type]
    )


def referrer_parts(referrer: str | None, own_host: str | None) -> tuple[str | None, str | None]:
    """The referrer's host; its path and query too, only when it is the short domain itself."""
    if not referrer:
        return None, None
    try:
        parts = urlsplit(referrer.strip())
        host = parts.hostname
    except ValueError:
        return None, None
    if not host:
        return None, None
    path = None
    if own_host and host == own_host:
        path = clean(parts.path + (f"?{parts.query}" if parts.query else ""), 1024)
    return clean(host, 255), path


def click_row(
    hit: Hit, *, salt: bytes | None, country: str | None, own_host: str | None
) -> dict[str, object]:
    """The stored form of a person's click: no address, no user-agent string."""
    row: dict[str, object] = {
        "uid": hit.uid,
        "link_id": hit.link_id,
        "ts": hit.ts,
        "dnt": hit.dnt,
        "referrer_host": None,
        "referrer_path": None,
        "browser": None,
        "os": None,
        "device": None,
        "country": None,
        "visitor_hash": None,
        "confirmed_at": None,
        **dict.fromkeys(UTM_FIELDS),
    }
    if hit.dnt:
        return row
    facts = agent_facts(hit.user_agent or "")
    host, path = referrer_parts(hit.referrer, own_host)
    row.update(
        referrer_host=host,
        referrer_path=path,
        browser=facts.browser,
        os=facts.os,
        device=facts.device,
        country=country,
        visitor_hash=visitor_hash(salt, hit.ip or "", hit.user_agent or "") if salt else None,
        **dict(zip(UTM_FIELDS, hit.utm, strict=True)),
    )
    return row


def _insert_ignore(conn: Connection, table: Table) -> Executable:
    insert_ = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return insert_(table).on_conflict_do_nothing()


def existing_links(conn: Connection, ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    return set(conn.execute(select(links.c.id).where(links.c.id.in_(wanted))).scalars())


def write_batch(
    conn: Connection,
    hits: Sequence[Hit],
    confirmations: Sequence[Confirmation],
    *,
    salt_for: Callable[[str], bytes | None],
    country_for: Callable[[str], str | None],
    own_host: str | None,
    now: datetime,
) -> BatchResult:
    """Store hits and confirmations and add to the hourly counters, in the caller's transaction.

    Hits of links deleted meanwhile are dropped (their statistics went with them).
    """
    live = existing_links(conn, [h.link_id for h in hits])
    rows = _Rows()
    for hit in hits:
        if hit.link_id in live:
            rows.add(hit, salt_for, country_for, own_host)
    if rows.clicks:
        insert_many(conn, clicks, rows.clicks)
        queue_for_webhooks(conn, rows.clicks, now)
    if rows.robots:
        insert_many(conn, robot_hits, rows.robots)
    new_site: set[tuple[str, str]] = set()
    per_link: list[dict[str, Any]] = []
    per_day: list[dict[str, Any]] = []
    if rows.visitors:
        values = [
            {"link_id": v[0], "day": v[1], "visitor_hash": v[2]} for v in sorted(rows.visitors)
        ]
        new_site, per_link, per_day = new_visitors(conn, values)
    result = BatchResult(clicks_by_link=rows.clicks_by_link)
    if confirmations:
        _confirm(conn, confirmations, now, result, rows)
    # The visitor counts join the click counters' day and month rows: one upsert per row.
    increment_hourly(conn, rows.increments, per_link, per_day)
    add_clicks(conn, [*rows.clicks, *rows.confirmed])
    valuevisitors.count(conn, rows.clicks, new_site)
    return result


def count_visitors(conn: Connection, values: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Keep each (link, UTC day, visitor hash) once, and count the new ones per link and day
    and, across links (`site_visitors`), per day, in the day and month counters. Returns the
    (day, visitor hash) pairs new across links."""
    new_site, per_link, per_day = new_visitors(conn, values)
    add_periods(conn, per_link, per_day)
    return new_site


def new_visitors(
    conn: Connection, values: list[dict[str, Any]]
) -> tuple[set[tuple[str, str]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Keep each (link, UTC day, visitor hash) once and each (day, visitor hash) once across
    links; returns the pairs new across links and the counter items (counters.add_periods)
    of the new visitors per link and day and per day."""
    stmt = _insert_ignore(conn, daily_visitors).returning(  # type: ignore[attr-defined]
        daily_visitors.c.link_id, daily_visitors.c.day
    )
    new = Counter(tuple(r) for r in conn.execute(stmt, values))
    first_seen = sorted({(v["day"], v["visitor_hash"]) for v in values})
    stmt = _insert_ignore(conn, site_visitors).returning(  # type: ignore[attr-defined]
        site_visitors.c.day, site_visitors.c.visitor_hash
    )
    rows = [{"day": d, "visitor_hash": h} for d, h in first_seen]
    new_site = {(r[0], r[1]) for r in conn.execute(stmt, rows)}
    site = Counter(day for day, _ in new_site)
    per_link = [
        {"link_id": k[0], "hour": _noon(k[1]), "visitors": n} for k, n in sorted(new.items())
    ]
    return new_site, per_link, [{"hour": _noon(d), "visitors": n} for d, n in sorted(site.items())]


def _noon(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=timezone.utc)


def queue_for_webhooks(conn: Connection, rows: Sequence[Mapping[str, Any]], now: datetime) -> None:
    """Name the batch's clicks for the endpoints receiving `clicks` events, in the batch's
    transaction; the events are made from the stored (anonymised) rows later."""
    endpoint_ids = outbox.click_subscribers(conn)
    if endpoint_ids:
        outbox.queue_clicks(conn, endpoint_ids, [str(r["uid"]) for r in rows], now)


@dataclass
class _Rows:
    """What a batch of hits inserts, and the counters it adds to."""

    clicks: list[dict[str, object]] = field(default_factory=list)
    robots: list[dict[str, object]] = field(default_factory=list)
    visitors: set[tuple[int, str, str]] = field(default_factory=set)
    increments: list[dict[str, object]] = field(default_factory=list)
    confirmed: list[dict[str, object]] = field(default_factory=list)  # rollup additions
    clicks_by_link: Counter[int] = field(default_factory=Counter)

    def add(
        self,
        hit: Hit,
        salt_for: Callable[[str], bytes | None],
        country_for: Callable[[str], str | None],
        own_host: str | None,
    ) -> None:
        if hit.kind == CLICK:
            salt = None if hit.dnt else salt_for(day_of(hit.ts))
            country = None if hit.dnt or not hit.ip else country_for(hit.ip)
            row = click_row(hit, salt=salt, country=country, own_host=own_host)
            self.clicks.append(row)
            if row["visitor_hash"]:
                self.visitors.add((hit.link_id, day_of(hit.ts), str(row["visitor_hash"])))
            self.clicks_by_link[hit.link_id] += 1
        else:
            agent = hit.agent if hit.kind == BOT else agent_facts(hit.user_agent or "").browser
            self.robots.append(
                {"link_id": hit.link_id, "ts": hit.ts, "kind": hit.kind, "agent": agent}
            )
        counter = {CLICK: "clicks", BOT: "bots", PREFETCH: "prefetches"}[hit.kind]
        self.increments.append({"link_id": hit.link_id, "hour": hit.ts, counter: 1})


def _confirm(
    conn: Connection,
    confirmations: Sequence[Confirmation],
    now: datetime,
    result: BatchResult,
    rows: _Rows,
) -> None:
    """Mark clicks confirmed once; a confirmation of a click not stored yet is handed back."""
    uids = sorted({c.uid for c in confirmations})
    done = conn.execute(
        update(clicks)
        .where(clicks.c.uid.in_(uids), clicks.c.confirmed_at.is_(None))
        .values(confirmed_at=now)
        .returning(clicks.c.uid, clicks.c.link_id, clicks.c.ts, *(clicks.c[d] for d in DIMENSIONS))
    ).all()
    for row in done:
        rows.increments.append({"link_id": row.link_id, "hour": row.ts, "confirmed": 1})
        rows.confirmed.append({**row._mapping, "clicks": 0, "confirmed": 1})
    result.confirmed = len(done)
    missing = set(uids) - {row.uid for row in done}
    if missing:
        # Confirmed before: replays. A click stored but not confirmed was committed by another
        # instance after the UPDATE above read the table (PostgreSQL, read committed): pending.
        confirmed = clicks.c.uid.in_(missing) & clicks.c.confirmed_at.is_not(None)
        known = set(conn.execute(select(clicks.c.uid).where(confirmed)).scalars())
        pending = missing - known
        result.unmatched = [c for c in confirmations if c.uid in pending]


def any_click_stored(conn: Connection, uids: Iterable[str]) -> bool:
    """Whether a batch holding these clicks was already committed (a lost commit reply)."""
    wanted = [u for u in uids if u]
    if not wanted:
        return False
    found = conn.execute(select(clicks.c.uid).where(clicks.c.uid.in_(wanted)).limit(1))
    return found.first() is not None


def served_clicks(conn: Connection, link_id: int) -> int:
    """Clicks stored for a link so far, from the hourly counters (they outlive raw clicks)."""
    total = conn.execute(
        select(func.coalesce(func.sum(hourly_counts.c.clicks), 0)).where(
            hourly_counts.c.link_id == link_id
        )
    ).scalar_one()
    return int(total)


def purge_before(conn: Connection, cutoff: datetime) -> tuple[int, int]:
    """Delete raw clicks and robot hits older than `cutoff`; hourly counters and daily
    visitors stay. Returns (clicks deleted, robot hits deleted)."""
    gone_clicks = conn.execute(delete(clicks).where(clicks.c.ts < cutoff)).rowcount
    gone_robots = conn.execute(delete(robot_hits).where(robot_hits.c.ts < cutoff)).rowcount
    return int(gone_clicks or 0), int(gone_robots or 0)


def purge_expired(conn: Connection, now: datetime, retention_days: int) -> tuple[int, int]:
    """The retention rule: raw rows older than `retention_days` go (none when 0), and so do
    the visitor salts and preview viewers of days before today. Returns (clicks deleted,
    robot hits deleted)."""
    delete_past_salts(conn, day_of(now))
    delete_past_viewers(conn, day_of(now))
    # Visitors of days before yesterday cannot click again (their hash was of their day).
    conn.execute(delete(site_visitors).where(site_visitors.c.day < day_of(now - timedelta(days=1))))
    valuevisitors.forget_before(conn, now)
    if not retention_days:
        return 0, 0
    return purge_before(conn, now - timedelta(days=retention_days))
