"""The large benchmark's counters and rollups, aggregated in the generator's own memory.

Clicks come one UTC day at a time (bigdata._clicks), so every table keyed by hour or day is
complete when its day ends and is written then; the month rows when their month ends. Each
row is keyed as the batch writer keys it (analytics/clicks.py, analytics/rollups.py,
db/counters.py, analytics/valuevisitors.py) and as the migrations' fills rebuild it
(bench_dashboard.py --verify compares them row for row). Rows are written once, by
`executemany` in long transactions (SQLite, synchronous and journal off during the load) or
`COPY` (PostgreSQL). Memory: one day's clicks and one month's sums.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, select

from balise.analytics.rollups import DIMENSIONS, combo
from balise.analytics.valuevisitors import SEP, VARYING
from balise.db.tables import metadata

FLUSH = 50_000  # rows buffered per table before they are written
VARYING_AT = [DIMENSIONS.index(d) for d in VARYING]
COUNTS = ("clicks", "confirmed", "bots", "prefetches", "preview_views", "visitors")
CLICK_COLUMNS = ("uid", "link_id", "ts", "referrer_host", "referrer_path", "browser", "os",
                 "device", "country", "utm_source", "utm_medium", "utm_campaign",
                 "visitor_hash", "dnt", "confirmed_at")  # fmt: skip
TABLES = {
    "clicks": CLICK_COLUMNS,
    "hourly_counts": ("link_id", "hour", "clicks", "confirmed", "bots", "prefetches",
                      "preview_views"),
    "daily_visitors": ("link_id", "day", "visitor_hash"),
    "click_rollups": ("link_id", "hour", "combo", *DIMENSIONS, "clicks", "confirmed"),
    "period_counts": ("link_id", "level", "start", *COUNTS),
    "site_counts": ("level", "start", *COUNTS),
    "link_values": ("link_id", "level", "start", "counts"),
    "site_values": ("dim", "level", "start", "value", "clicks", "visitors"),
    "site_combos": ("level", "start", "combo", *DIMENSIONS, "clicks", "confirmed"),
    "site_visitors": ("day", "visitor_hash"),
    "value_visitors": ("day", "visitor_hash", "seen"),
    "value_pairs": ("dim", "value", "level", "start", "other", "other_value", "clicks",
                    "confirmed"),
    "value_links": ("dim", "value", "level", "start", "link_id", "clicks"),
}  # fmt: skip


class Sink:
    """Buffered rows per table, written by executemany (SQLite) or COPY (PostgreSQL) on one
    connection of its own, committed as each buffer is written."""

    def __init__(self, engine: Engine) -> None:
        self.sqlite = engine.dialect.name == "sqlite"
        self.buffers: dict[str, list[Sequence[Any]]] = {t: [] for t in TABLES}
        self.written: Counter[str] = Counter()
        if self.sqlite:
            engine.dispose()  # journal_mode changes need the only connection
            self.conn: Any = sqlite3.connect(str(engine.url.database), isolation_level=None)
            for pragma in ("synchronous=OFF", "journal_mode=OFF", "foreign_keys=OFF",
                           "cache_size=-262144"):  # fmt: skip
                self.conn.execute(f"PRAGMA {pragma}")
            self.conn.execute("BEGIN")
        else:
            self.raw = engine.raw_connection()
            self.conn = self.raw.driver_connection
        suffix = ".000000" if self.sqlite else "+00"
        self.ts = suffix  # added to a click's 'YYYY-MM-DD HH:MM:SS'
        self.hour = ":00:00" + suffix  # added to 'YYYY-MM-DD HH'
        self.day = " 00:00:00" + suffix  # added to 'YYYY-MM-DD'
        self.month = "-01 00:00:00" + suffix  # added to 'YYYY-MM'

    def add(self, table: str, rows: Iterable[Sequence[Any]]) -> None:
        buffer = self.buffers[table]
        buffer.extend(rows)
        if len(buffer) >= FLUSH:
            self.flush(table)

    def flush(self, table: str) -> None:
        rows = self.buffers[table]
        if not rows:
            return
        self.buffers[table] = []
        names = TABLES[table]
        if self.sqlite:
            marks = ", ".join("?" for _ in names)
            sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"
            self.conn.executemany(sql, rows)
        else:
            if table == "clicks":  # the only table with NULLs and a boolean
                rows = [["\\N" if v is None else _pg(v) for v in row] for row in rows]
            text = "".join("\t".join(map(str, row)) + "\n" for row in rows)
            with self.conn.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                    copy.write(text)
            self.conn.commit()
        self.written[table] += len(rows)

    def close(self) -> None:
        for table in TABLES:
            self.flush(table)
        if self.sqlite:
            self.conn.execute("COMMIT")
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.close()
        else:
            self.raw.close()


def _pg(value: Any) -> str:
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


class Rollups:
    """Sums of the clicks of one UTC day at a time, written to a Sink as their periods end.

    `since`: the first UTC day ('YYYY-MM-DD') whose visitors the writer still holds across
    links (site_visitors, value_visitors): today and yesterday."""

    def __init__(self, sink: Sink, since: str) -> None:
        self.sink = sink
        self.since = since
        self.month = ""
        self._new_month("")

    def _new_month(self, month: str) -> None:
        self.month = month
        self.m_combos: dict[tuple[str, ...], list[Any]] = {}  # clicks, confirmed, combo
        self.m_values: Counter[tuple[int, str]] = Counter()
        self.m_visitors: Counter[tuple[int, str]] = Counter()
        self.m_links: dict[int, list[dict[str, int]]] = {}  # per dimension: value -> clicks
        self.m_periods: dict[int, list[int]] = {}
        self.m_site = [0, 0, 0]  # clicks, confirmed, visitors
        self.m_value_links: Counter[tuple[int, str, int]] = Counter()

    def add_day(self, day: str, rows: list[list[Any]]) -> None:
        """One UTC day's click rows (bigload.CLICK_COLUMNS order), all of them at once."""
        if day[:7] != self.month:
            self.end_month()
            self._new_month(day[:7])
        s = self.sink
        hourly: dict[tuple[int, str], list[int]] = {}
        rolled: dict[tuple[int, str, tuple[str, ...]], list[int]] = {}
        visitors: set[tuple[int, str]] = set()
        hashes: set[str] = set()
        per_value: set[tuple[int, str, str]] = set()
        seen: dict[str, set[str]] = {}
        recent = day >= self.since
        key: Any
        dims: Any
        found: Any
        target: Any
        for row in rows:
            link, ts, vh = row[1], row[2], row[12]
            hour = ts[:13]
            confirmed = 0 if row[14] is None else 1
            found = hourly.get((link, hour))
            if found is None:
                hourly[(link, hour)] = [1, confirmed]
            else:
                found[0] += 1
                found[1] += confirmed
            dims = (row[3] or "", row[5] or "", row[6] or "", row[7] or "", row[8] or "",
                    row[9] or "", row[10] or "", row[11] or "")  # fmt: skip
            key = (link, hour, dims)
            found = rolled.get(key)
            if found is None:
                rolled[key] = [1, confirmed]
            else:
                found[0] += 1
                found[1] += confirmed
            if vh is not None:
                visitors.add((link, vh))
                hashes.add(vh)
                for i, value in enumerate(dims):
                    per_value.add((i, value, vh))
                if recent:
                    seen.setdefault(vh, set()).update(
                        f"{n}{dims[i]}" for n, i in enumerate(VARYING_AT)
                    )
        # Raw-click aggregates of the day: hourly counters, visitors, click_rollups.
        s.add("hourly_counts", [(k[0], k[1] + s.hour, n, c, 0, 0, 0) for k, (n, c) in
                                sorted(hourly.items())])  # fmt: skip
        s.add("daily_visitors", [(link, day, vh) for link, vh in sorted(visitors)])
        combos: dict[tuple[str, ...], str] = {}
        for dims in {k[2] for k in rolled}:  # the month's combinations hashed once
            known = self.m_combos.get(dims)
            combos[dims] = combo(dims) if known is None else known[2]
        s.add("click_rollups", sorted(
            (k[0], k[1] + s.hour, combos[k[2]], *k[2], n, c) for k, (n, c) in rolled.items()
        ))  # fmt: skip
        # The pyramid: hours and the day now, the month's sums kept.
        h_combos: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        d_combos: dict[tuple[str, ...], list[int]] = {}
        h_values: Counter[tuple[str, int, str]] = Counter()
        d_values: Counter[tuple[int, str]] = Counter()
        d_links: dict[int, list[dict[str, int]]] = {}
        m_links = self.m_links
        for (link, hour, dims), (n, c) in rolled.items():
            for target, key in ((h_combos, (hour, dims)), (d_combos, dims)):
                found = target.get(key)
                if found is None:
                    target[key] = [n, c]
                else:
                    found[0] += n
                    found[1] += c
            found = self.m_combos.get(dims)
            if found is None:
                self.m_combos[dims] = [n, c, combos[dims]]
            else:
                found[0] += n
                found[1] += c
            day_link = d_links.get(link)
            if day_link is None:
                day_link = d_links[link] = [{} for _ in DIMENSIONS]
            month_link = m_links.get(link)
            if month_link is None:
                month_link = m_links[link] = [{} for _ in DIMENSIONS]
            for i, value in enumerate(dims):
                h_values[(hour, i, value)] += n
                d_values[(i, value)] += n
                counts = day_link[i]
                counts[value] = counts.get(value, 0) + n
                counts = month_link[i]
                counts[value] = counts.get(value, 0) + n
        d_start = day + s.day
        s.add("site_combos", sorted(("h", k[0] + s.hour, combos[k[1]], *k[1], n, c)
                                    for k, (n, c) in h_combos.items()))  # fmt: skip
        s.add("site_combos", sorted(("d", d_start, combos[k], *k, n, c)
                                    for k, (n, c) in d_combos.items()))  # fmt: skip
        s.add("site_values", sorted((DIMENSIONS[i], "h", hour + s.hour, value, n, 0)
                                    for (hour, i, value), n in h_values.items()))  # fmt: skip
        d_visitors = Counter((i, value) for i, value, _ in per_value)
        self.m_values.update(d_values)
        self.m_visitors.update(d_visitors)
        s.add("site_values", sorted((DIMENSIONS[i], "d", d_start, value, n, d_visitors[(i, value)])
                                    for (i, value), n in d_values.items()))  # fmt: skip
        s.add("link_values", [(link, "d", d_start, _json(counts))
                              for link, counts in sorted(d_links.items())])  # fmt: skip
        self._pairs(d_start, h_combos, d_combos, rolled)
        # Counters per link and day, and across links per hour and day.
        d_periods: dict[int, list[int]] = {}
        h_site: dict[str, list[int]] = {}
        for (link, hour), (n, c) in hourly.items():
            for target, key in ((d_periods, link), (h_site, hour), (self.m_periods, link)):
                found = target.get(key)
                if found is None:
                    target[key] = [n, c, 0]
                else:
                    found[0] += n
                    found[1] += c
        for link, _ in visitors:
            d_periods[link][2] += 1
            self.m_periods[link][2] += 1
        s.add("period_counts", [(link, "d", d_start, n, c, 0, 0, 0, v)
                                for link, (n, c, v) in sorted(d_periods.items())])  # fmt: skip
        s.add("site_counts", [("h", hour + s.hour, n, c, 0, 0, 0, 0)
                              for hour, (n, c, _) in sorted(h_site.items())])  # fmt: skip
        day_clicks = sum(v[0] for v in h_site.values())
        day_confirmed = sum(v[1] for v in h_site.values())
        if h_site:
            s.add("site_counts", [("d", d_start, day_clicks, day_confirmed, 0, 0, 0, len(hashes))])
        self.m_site[0] += day_clicks
        self.m_site[1] += day_confirmed
        self.m_site[2] += len(hashes)
        # Visitors the writer still holds across links (today's and yesterday's).
        if recent:
            s.add("site_visitors", [(day, vh) for vh in sorted(hashes)])
            s.add("value_visitors", [(day, vh, SEP.join(sorted(seen[vh]))) for vh in sorted(seen)])

    def _pairs(
        self,
        d_start: str,
        h_combos: dict[tuple[str, tuple[str, ...]], list[int]],
        d_combos: dict[tuple[str, ...], list[int]],
        rolled: dict[tuple[int, str, tuple[str, ...]], list[int]],
    ) -> None:
        """value_pairs: each value with itself per hour, every ordered pair per day;
        value_links: each link's clicks per value, the month's sums."""
        s = self.sink
        h_diag: dict[tuple[str, int, str], list[int]] = {}
        for (hour, dims), (n, c) in h_combos.items():
            for i, value in enumerate(dims):
                found = h_diag.get((hour, i, value))
                if found is None:
                    h_diag[(hour, i, value)] = [n, c]
                else:
                    found[0] += n
                    found[1] += c
        s.add("value_pairs", sorted((DIMENSIONS[i], v, "h", hour + s.hour, DIMENSIONS[i], v, n, c)
                                    for (hour, i, v), (n, c) in h_diag.items()))  # fmt: skip
        d_pairs: dict[tuple[int, str, int, str], list[int]] = {}
        pairs = [(i, j) for i in range(len(DIMENSIONS)) for j in range(len(DIMENSIONS))]
        for dims, (n, c) in d_combos.items():
            for i, j in pairs:
                key = (i, dims[i], j, dims[j])
                found = d_pairs.get(key)
                if found is None:
                    d_pairs[key] = [n, c]
                else:
                    found[0] += n
                    found[1] += c
        s.add("value_pairs", sorted(
            (DIMENSIONS[i], v, "d", d_start, DIMENSIONS[j], w, n, c)
            for (i, v, j, w), (n, c) in d_pairs.items()
        ))  # fmt: skip
        m_links = self.m_value_links
        for (link, _, dims), (n, _) in rolled.items():
            for i, value in enumerate(dims):
                if value:  # value_links keeps values only (valuepairs.add)
                    m_links[(i, value, link)] += n

    def end_month(self) -> None:
        if not self.month:
            return
        s = self.sink
        start = self.month + s.month
        s.add("value_links", sorted((DIMENSIONS[i], v, "m", start, link, n)
                                    for (i, v, link), n in self.m_value_links.items()))  # fmt: skip
        s.add("site_combos", sorted(("m", start, h, *k, n, c)
                                    for k, (n, c, h) in self.m_combos.items()))  # fmt: skip
        s.add("site_values", sorted(
            (DIMENSIONS[i], "m", start, value, n, self.m_visitors[(i, value)])
            for (i, value), n in self.m_values.items()
        ))  # fmt: skip
        s.add("link_values", [(link, "m", start, _json(counts))
                              for link, counts in sorted(self.m_links.items())])  # fmt: skip
        s.add("period_counts", [(link, "m", start, n, c, 0, 0, 0, v)
                                for link, (n, c, v) in sorted(self.m_periods.items())])  # fmt: skip
        n, c, v = self.m_site
        if n:
            s.add("site_counts", [("m", start, n, c, 0, 0, 0, v)])
        self.month = ""

    def close(self) -> None:
        self.end_month()


def _json(counts: list[dict[str, int]]) -> str:
    """A link_values row's counts: {dimension: {value: clicks}} (every click has a value of
    each dimension, '' when absent)."""
    return json.dumps(dict(zip(DIMENSIONS, counts, strict=True)), separators=(",", ":"))


def differences(engine: Engine, reference: Engine) -> dict[str, tuple[int, int, int]]:
    """Per table (every one above but clicks): rows here, rows in `reference`, and rows that
    differ (missing on either side or with other values); link_values' JSON compared parsed."""
    found: dict[str, tuple[int, int, int]] = {}
    for name in TABLES:
        if name == "clicks":
            continue
        ours, theirs = _rows(engine, name), _rows(reference, name)
        differ = sum(1 for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
        found[name] = (len(ours), len(theirs), differ)
    return found


def _rows(engine: Engine, name: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    table = metadata.tables[name]
    keys = [c.name for c in table.primary_key.columns]
    with engine.connect() as conn:
        rows = conn.execute(select(table)).mappings().all()
    found = {}
    for row in rows:
        values = {k: json.loads(v) if k == "counts" else v for k, v in row.items()}
        found[tuple(values[k] for k in keys)] = tuple(sorted(values.items()))
    return found
