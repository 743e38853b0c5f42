"""Creating links from a CSV file: choose or drop it, see each row checked, confirm, see what
was created and what was skipped, and why.

The file: UTF-8 (a byte order mark is fine), a header row naming the columns (COLUMNS: every
field a create takes, links.fields.CREATE_FIELDS, so a new field is a new column; `url`
required, in any order and case), comma or semicolon separated (the header row tells), at most
bulk.MAX_ITEMS rows and BALISE_MAX_BODY_BYTES. Each row is checked as the link form checks its
fields (forms.check), then by the rules the API applies on creation (links.fields.check,
without hashing passwords), so the errors read as the form's do; a slug used by an earlier row
or taken by a link is said too. The preview carries the rows in the confirm form: they are
checked again on confirmation and created in the chunked transactions of links/bulk.py.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, request
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import Connection, select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from balise.db.tables import links as links_table
from balise.errors import BadRequest, SlugTaken, ValidationFailed
from balise.links import bulk, fields
from balise.links import store as links
from balise.web.context import state, transaction
from balise.web.dashboard import controls, forms
from balise.web.dashboard.blueprint import bp, render, require, user
from balise.web.dashboard.i18n import field_message, integer
from balise.web.dashboard.timezones import viewer_tz

COLUMNS = fields.CREATE_FIELDS
# Cells read as yes or no, and as dates (ISO 8601; without an offset, in the viewer's zone).
FLAGS = tuple(name for name in (*forms.FLAGS, *controls.FLAGS) if name in COLUMNS)
DATES = ("expires_at", "valid_from")
MASKED = ("password",)  # cells the preview does not show
YES = frozenset({"1", "true", "yes", "y", "oui", "o", "x"})


class FileProblem(Exception):
    """The file as a whole cannot be read: said in the page's language."""


@dataclass
class Row:
    line: int  # the row's line in the file (the header is line 1)
    cells: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    link: links.Link | None = None


def read_file(raw: bytes) -> list[Row]:
    """The rows of a CSV file with a header row; FileProblem when it cannot be read."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileProblem(
            _("The file is not UTF-8 text: save it as “CSV UTF-8” and try again.")
        ) from None
    if not text.strip():
        raise FileProblem(_("The file is empty."))
    first = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip().lower() for name in next(reader)]
        while not any(header):
            header = [name.strip().lower() for name in next(reader)]
        _check_header(header)
        rows: list[Row] = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # blank lines are not rows
            if len(rows) == bulk.MAX_ITEMS:
                raise FileProblem(_("A file may hold at most %(n)s rows.", n=bulk.MAX_ITEMS))
            cells = {name: cell for name, cell in zip(header, record, strict=False) if name}
            rows.append(Row(reader.line_num, cells))
    except (csv.Error, StopIteration):
        raise FileProblem(_("The file is not a CSV file this page can read.")) from None
    if not rows:
        raise FileProblem(_("The file has no rows under its header row."))
    return rows


def _check_header(header: list[str]) -> None:
    if "url" not in header:
        raise FileProblem(
            _(
                "The first row must name the columns, “url” among them: %(columns)s.",
                columns=", ".join(COLUMNS),
            )
        )
    unknown = sorted({name for name in header if name and name not in COLUMNS})
    if unknown:
        raise FileProblem(
            _(
                "Unknown columns: %(names)s. Columns this page reads: %(columns)s.",
                names=", ".join(unknown),
                columns=", ".join(COLUMNS),
            )
        )
    named = [name for name in header if name]
    if len(set(named)) != len(named):
        raise FileProblem(_("A column is named twice in the header row."))


def _form_of(cells: dict[str, str], tz: ZoneInfo) -> dict[str, Any]:
    """A row's cells as the link form would have sent them."""
    form = {name: cells.get(name, "") for name in COLUMNS}
    form["tags"] = form["tags"].replace("|", ",")
    for flag in FLAGS:
        form[flag] = "1" if form[flag].strip().lower() in YES else ""
    for name in DATES:
        text = form[name].strip()
        if not text:
            continue
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            continue  # left as it is: the form's check says it is not a date
        local = moment.astimezone(tz) if moment.tzinfo else moment
        form[name] = local.strftime(forms.LOCAL_FORMAT)
    return forms.read_form(MultiDict(form))


def _check_row(row: Row, tz: ZoneInfo) -> None:
    """The form's rules, then the API's on creation (dates in order, URLs of the rules and
    the fallback...): every error of the row at once."""
    server = state().server
    row.values, row.errors = forms.check(
        _form_of(row.cells, tz), tz, creating=True, base_url=server
    )
    if row.errors:
        return
    try:
        fields.check(row.values, server, hash_password=False)
    except ValidationFailed as exc:
        row.errors = forms.domain_errors(exc)


def check_rows(conn: Connection, rows: list[Row], tz: ZoneInfo) -> None:
    """Fill each row's values, or its errors: the form's rules, then slugs used twice or taken."""
    for row in rows:
        _check_row(row, tz)
    wanted = {r.values["slug"].lower() for r in rows if not r.errors and r.values.get("slug")}
    taken: set[str] = set()
    if wanted:
        query = select(links_table.c.slug_key).where(links_table.c.slug_key.in_(wanted))
        taken = set(conn.execute(query).scalars())
    seen: set[str] = set()
    for row in rows:
        slug = row.values.get("slug") if not row.errors else None
        if slug is None:
            continue
        if slug.lower() in taken:
            row.errors["slug"] = forms.domain_errors(
                SlugTaken(f"The slug '{slug}' is already taken.")
            )["slug"]
        elif slug.lower() in seen:
            row.errors["slug"] = _("An earlier row of the file already uses this slug")
        seen.add(slug.lower())


def carry(rows: list[Row]) -> str:
    """The rows for the confirm form, compact (the column names once): a file near the body
    limit must still fit in the confirmation."""
    names = [name for name in COLUMNS if any(name in row.cells for row in rows)]
    table = [[row.line, *(row.cells.get(name, "") for name in names)] for row in rows]
    return json.dumps({"columns": names, "rows": table}, ensure_ascii=False, separators=(",", ":"))


def _rows_from_form() -> list[Row]:
    """The rows the preview carried into its confirm form (carry())."""
    try:
        carried = json.loads(request.form.get("rows", ""))
        names = [str(name) for name in carried["columns"] if name in COLUMNS]
        if len(names) != len(carried["columns"]):
            raise ValueError(carried["columns"])
        rows = [
            Row(int(line), dict(zip(names, map(str, cells), strict=True)))
            for line, *cells in carried["rows"]
        ]
    except (ValueError, TypeError, AttributeError, KeyError):
        raise BadRequest("The confirmation form was altered: upload the file again.") from None
    if not 0 < len(rows) <= bulk.MAX_ITEMS:
        raise BadRequest("The confirmation form was altered: upload the file again.")
    return rows


def _create(conn: Connection, values: Mapping[str, Any]) -> links.Link:
    return links.create_link(conn, values, base_url=state().server, user_id=user().id)


@bp.route("/import", methods=["GET", "POST"])  # not under /links/: "upload" is a slug
@require("editor")
def upload_links() -> Any:
    if request.method == "GET":
        return render("upload.html", step="choose", problem=None, columns=COLUMNS)
    tz = viewer_tz()
    if request.form.get("confirm") == "1":
        return _confirm(_rows_from_form(), tz)
    chosen = request.files.get("file")
    try:
        if chosen is None or not chosen.filename:
            raise FileProblem(_("Choose a CSV file."))
        rows = read_file(chosen.read())
    except FileProblem as exc:
        return render("upload.html", 422, step="choose", problem=str(exc), columns=COLUMNS)
    with transaction() as conn:
        check_rows(conn, rows, tz)
    valid = sum(1 for row in rows if not row.errors)
    return render(
        "upload.html",
        step="preview",
        rows=rows,
        valid=valid,
        carried=carry(rows),
        filename=chosen.filename,
        columns=[name for name in COLUMNS if any(name in row.cells for row in rows)],
        masked=MASKED,
    )


def _confirm(rows: list[Row], tz: ZoneInfo) -> Any:
    with transaction() as conn:
        check_rows(conn, rows, tz)  # again: the file may be older than links made since
    items: list[Any] = [bulk.Outcome[Any](422) if row.errors else row.values for row in rows]
    outcomes = bulk.create_all(transaction, items, _create)
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome.created is not None:
            row.link = outcome.created
        elif not row.errors:  # refused when created (a slug taken meanwhile)
            found = {e["field"]: field_message(e["message"]) for e in outcome.errors}
            row.errors = controls.fold(found)
    created = sum(1 for row in rows if row.link is not None)
    message = ngettext("%(num)s link created.", "%(num)s links created.", created)
    return render("upload.html", step="result", rows=rows, created=created, message=message)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_exc: RequestEntityTooLarge) -> Response:
    """A file (or form) beyond BALISE_MAX_BODY_BYTES: said in the page's language."""
    limit = int(current_app.config["BALISE"]["MAX_BODY_BYTES"])
    text = _(
        "The file is larger than this server accepts (%(size)s bytes). Split it, or ask an "
        "administrator to raise BALISE_MAX_BODY_BYTES.",
        size=integer(limit, str(get_locale())),
    )
    html, status = render("error.html", 413, title=_("File too large"), text=text)
    return Response(html, status=status, mimetype="text/html")
