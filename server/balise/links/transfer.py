"""Export and import files of links: CSV and JSON Lines, every field of every link.

The fields are not listed here: they are the `links` table's columns, minus internal ids and
secrets (EXCLUDED), plus the link's tags and, when asked, its summary (the `summaries`
columns). A column added to the table is exported without touching this module; on import,
a field goes through the same validation as the API's link creation (see importing.py).

JSON Lines: one JSON object per line; dates are ISO 8601 in UTC (`2026-03-27T10:00:00Z`),
`tags` a list, `summary` an object or null.

CSV (RFC 4180, UTF-8, CRLF): a header row of the field names. Values that are not text
(numbers, true/false, lists such as `tags`, objects) are written as JSON (`302`, `true`,
`["spring","promo"]`); text as it is; an empty cell is a value not set. The summary is spread
over columns named `summary.<field>` (`summary.title`, `summary.teaser`...). A cell that starts
with `=`, `+`, `-`, `@`, a tab, a carriage return or `'` is prefixed with `'`, so a spreadsheet
never runs it as a formula; reading drops that one `'` again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any

from sqlalchemy import Connection, TypeDecorator, select

from balise.db.tables import link_tags, links, summaries

FORMATS = ("csv", "jsonl")
# Columns that are not the link's own data: row ids, look-up keys, secrets, the cache version.
EXCLUDED = frozenset(
    {
        "id",
        "slug_key",
        "url_key",
        "share_secret",
        "password_hash",
        "version",
        "api_key_id",
        "user_id",
    }
)
SUMMARY_PREFIX = "summary."
# Cells a spreadsheet would run as a formula, and the escape itself.
_FORMULA_STARTS = "=+-@\t\r'"
BATCH = 500


def link_fields() -> list[str]:
    """The exported fields of a link, in order: slug, the table's other columns, tags."""
    names = [c.name for c in links.columns if c.name not in EXCLUDED and "secret" not in c.name]
    names.remove("slug")
    # A password is never exported (not even hashed): the file says which links had one, and
    # importing such a link without a new password leaves it disabled (importing.py).
    return ["slug", *names, "password_protected", "tags"]


def json_fields() -> frozenset[str]:
    """Fields whose CSV cells hold JSON: the columns whose values are not text or dates
    (numbers, booleans, JSON columns), and tags."""
    found = {"tags", "password_protected"}
    for column in links.columns:
        kind_of = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
        try:
            kind = kind_of.python_type
        except NotImplementedError:
            kind = object
        if kind not in (str, datetime):
            found.add(column.name)
    return frozenset(found)


def summary_fields() -> list[str]:
    return [c.name for c in summaries.columns if c.name != "link_id"]


def csv_header(with_summaries: bool) -> list[str]:
    extra = [SUMMARY_PREFIX + name for name in summary_fields()] if with_summaries else []
    return [*link_fields(), *extra]


def records(conn: Connection, *, with_summaries: bool) -> Iterator[dict[str, Any]]:
    """Every link as a dict of its exported fields, oldest first, BATCH rows per query (so a
    large export holds neither every row in memory nor one long-running cursor)."""
    fields = [name for name in link_fields() if name not in ("tags", "password_protected")]
    last = 0
    while True:
        rows = conn.execute(
            select(links).where(links.c.id > last).order_by(links.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        ids = [row.id for row in rows]
        tags: dict[int, list[str]] = {i: [] for i in ids}
        query = select(link_tags).where(link_tags.c.link_id.in_(ids)).order_by(link_tags.c.tag)
        for tag_row in conn.execute(query):
            tags[tag_row.link_id].append(tag_row.tag)
        found: dict[int, Any] = {}
        if with_summaries:
            query = select(summaries).where(summaries.c.link_id.in_(ids))
            found = {s.link_id: s._mapping for s in conn.execute(query)}
        for row in rows:
            record = {name: row._mapping[name] for name in fields}
            record["password_protected"] = row.password_hash is not None
            record["tags"] = tags[row.id]
            if with_summaries:
                summary = found.get(row.id)
                record["summary"] = (
                    {name: summary[name] for name in summary_fields()} if summary else None
                )
            yield record
        last = ids[-1]


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """A value as JSON holds it (dates as ISO 8601 in UTC)."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def jsonl_chunks(found: Iterable[dict[str, Any]]) -> Iterator[str]:
    """One JSON object per line."""
    for record in found:
        yield json.dumps(_plain(record), ensure_ascii=False, separators=(",", ":")) + "\n"


def escape(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] and text[0] in _FORMULA_STARTS else text


def unescape(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    value = _plain(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return escape(text)


def csv_chunks(found: Iterable[dict[str, Any]], *, with_summaries: bool) -> Iterator[str]:
    """A header row, then one row per link, BATCH rows per chunk."""
    header = csv_header(with_summaries)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([escape(name) for name in header])
    for n, record in enumerate(found, 1):
        summary = record.get("summary") or {}
        writer.writerow(
            [
                _cell(summary.get(name[len(SUMMARY_PREFIX) :]))
                if name.startswith(SUMMARY_PREFIX)
                else _cell(record.get(name))
                for name in header
            ]
        )
        if n % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export(conn: Connection, fmt: str, *, with_summaries: bool) -> Iterator[str]:
    found = records(conn, with_summaries=with_summaries)
    if fmt == "csv":
        return csv_chunks(found, with_summaries=with_summaries)
    return jsonl_chunks(found)


@dataclass
class Record:
    """One link read from a file or a peer: where it came from (for messages) and its fields,
    or why it could not be read."""

    where: str
    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class UnreadableFile(Exception):
    """The file as a whole cannot be read (no header, not UTF-8...)."""


def format_of(name: str) -> str | None:
    """The format a file name says: .csv, or .jsonl / .ndjson."""
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return None


def read_jsonl(stream: IO[str]) -> Iterator[Record]:
    for n, line in enumerate(stream, 1):
        if not line.strip():
            continue
        where = f"line {n}"
        try:
            value = json.loads(line)
        except ValueError as exc:
            yield Record(where, error=f"not valid JSON ({exc.__class__.__name__}: {exc})")
            continue
        if not isinstance(value, dict):
            yield Record(where, error="not a JSON object")
            continue
        yield Record(where, value)


def read_csv(stream: IO[str], typed: Collection[str] | None = None) -> Iterator[Record]:
    """Rows as records; cells of `typed` fields (default: json_fields()) are read as JSON."""
    typed = json_fields() if typed is None else typed
    reader = csv.reader(stream)
    try:
        header = [unescape(name).strip() for name in next(reader)]
    except StopIteration:
        raise UnreadableFile("the file is empty: a CSV export starts with a header row") from None
    except csv.Error as exc:
        raise UnreadableFile(f"line 1: {exc}") from None
    if "slug" not in header and "url" not in header:
        raise UnreadableFile("line 1 is not a header row naming the fields (slug, url, ...)")
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Record(f"line {start}", error=str(exc))
            return
        where, start = f"line {start}", reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield Record(where, error=f"{len(row)} cells where the header names {len(header)}")
            continue
        yield _csv_record(where, header, row, typed)


def _csv_record(where: str, header: list[str], row: list[str], typed: Collection[str]) -> Record:
    values: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    for name, raw in zip(header, row, strict=True):
        cell = unescape(raw)
        if cell == "":
            continue  # not set
        if name.startswith(SUMMARY_PREFIX):
            summary[name[len(SUMMARY_PREFIX) :]] = cell
            continue
        if name in typed:
            try:
                cell = json.loads(cell)
            except ValueError:
                return Record(where, error=f"{name}: {cell!r} is not a JSON value")
        values[name] = cell
    if summary:
        values["summary"] = summary
    return Record(where, values)
