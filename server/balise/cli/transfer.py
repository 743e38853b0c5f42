"""`balise export` and `balise import`: links to and from files, and from other shorteners.

Import checks each link with the API's own request schemas (LinkCreate, SummaryIn), then the
links package's rules, so a field the API gains is validated here without edits. Pages of
records are written one transaction each; the links they change are announced to serving
instances through Redis (BALISE_REDIS_URL), as the API does.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from balise.cli.common import connection, open_database, shown
from balise.cli.common import settings as load_settings
from balise.db.changes import take_changed
from balise.errors import ValidationFailed
from balise.links import importers, transfer
from balise.links.hosts import OwnServer
from balise.links.importing import PageReport, Result, Rules, import_page
from balise.links.invalidation import Invalidator
from balise.links.transfer import Record

FILE_PAGE = 200  # records per transaction when importing a file
DEFAULT_URLS = {"bitly": "https://api-ssl.bitly.com", "kutt": "https://kutt.it"}
EXIT_FAILED_ROWS = 1  # the import ran to the end; some records were refused (each reported)
EXIT_STOPPED = 3  # the import stopped early: the peer or the file could not be read


class Stopped(click.ClickException):
    exit_code = EXIT_STOPPED


def _validator(model: Any) -> Any:
    def validate(values: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(model.model_validate(values).model_dump(exclude_unset=True))
        except ValidationError as exc:
            raise ValidationFailed(
                [
                    {"field": ".".join(str(p) for p in e["loc"]) or "link", "message": e["msg"]}
                    for e in exc.errors()
                ]
            ) from None

    return validate


def rules(settings: dict[str, Any], *, update: bool, saved_by: str) -> Rules:
    # Here, not at the top: the API's schemas bring its whole package (about 0.2 s), which
    # every other `balise` command would pay.
    from balise.web.api.schemas import LinkCreate, SummaryIn

    port = settings.get("PORT")
    server = OwnServer(str(settings["BASE_URL"]), settings.get("HOST"), int(port) if port else None)
    return Rules(
        validate=_validator(LinkCreate),
        accepted=frozenset(LinkCreate.model_fields) - {"summary"},
        validate_summary=_validator(SummaryIn),
        base_url=server,
        update=update,
        saved_by=saved_by,
    )


@click.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(transfer.FORMATS), help="Default: from FILE.")
@click.option("--with-summaries", is_flag=True, help="Add each link's summary.")
def export_command(file: Path | None, fmt: str | None, with_summaries: bool) -> None:
    """Write every link with every field to FILE (standard output without one): JSON Lines
    (.jsonl) or CSV (.csv). `balise import FILE` reads it back."""
    fmt = fmt or (transfer.format_of(file.name) if file else None) or "jsonl"
    with connection(write=False) as conn:
        chunks = transfer.export(conn, fmt, with_summaries=with_summaries)
        if file is None:
            for chunk in chunks:
                click.echo(chunk, nl=False)
            return
        partial = file.with_name(file.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8", newline="") as out:
                for chunk in chunks:
                    out.write(chunk)
            os.replace(partial, file)  # never a half-written export under the name asked
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise click.ClickException(f"cannot write {file}: {exc.strerror}") from None
    click.echo(f"exported the links to {file} ({fmt})", err=True)


@click.command("import")
@click.argument("source")
@click.option("--format", "fmt", type=click.Choice(transfer.FORMATS), help="Default: from FILE.")
@click.option("--update", is_flag=True, help="Change links whose slug exists (else skipped).")
@click.option("--url", "base", help="Peer: its address (Bitly and Kutt have a default).")
@click.option("--api-key", envvar="BALISE_IMPORT_API_KEY", help="Peer: its API key or token.")
@click.option("--group", help="Bitly: the group GUID (default: the account's default group).")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--restart", is_flag=True, help="Peer: start again from the first page.")
def import_command(
    source: str,
    fmt: str | None,
    update: bool,
    base: str | None,
    api_key: str | None,
    group: str | None,
    state_path: Path | None,
    restart: bool,
) -> None:
    """Import links from FILE (an export: .csv or .jsonl), or from another shortener:
    kutt, shlink, yourls or bitly with --url and --api-key. Slugs are kept; an existing slug
    is skipped (--update changes it). Exit 1 when a record was refused, 3 when the import
    stopped early."""
    settings = load_settings()
    if source in importers.PEERS:
        _import_peer(settings, source, base, api_key, group, state_path, restart, update)
        return
    for name, given in (("--url", base), ("--group", group)):
        if given:
            raise click.UsageError(f"{name} is for kutt, shlink, yourls or bitly, not a file")
    _import_file(settings, Path(source), fmt, update)


def _import_file(settings: dict[str, Any], path: Path, fmt: str | None, update: bool) -> None:
    fmt = fmt or transfer.format_of(path.name)
    if fmt is None:
        raise click.UsageError(
            f"cannot tell the format of {path}: name it .csv or .jsonl, or "
            "pass --format (or name a peer: " + ", ".join(importers.PEERS) + ")"
        )
    writer = _Writer(settings, rules(settings, update=update, saved_by=f"import:{path.name}"))
    try:
        stream = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        writer.close()
        raise Stopped(f"cannot read {path}: {exc.strerror}") from None
    try:
        with stream:
            found = transfer.read_csv(stream) if fmt == "csv" else transfer.read_jsonl(stream)
            for page in _chunks(found, FILE_PAGE):
                writer.write(page)
    except transfer.UnreadableFile as exc:
        raise Stopped(f"{path}: {exc}") from None
    except UnicodeDecodeError:
        raise Stopped(f"{path} is not UTF-8 text") from None
    finally:
        writer.close()
    writer.finish(str(path))


def _chunks(found: Iterable[Record], size: int) -> Iterator[list[Record]]:
    page: list[Record] = []
    for record in found:
        page.append(record)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def _import_peer(
    settings: dict[str, Any],
    name: str,
    base: str | None,
    api_key: str | None,
    group: str | None,
    state_path: Path | None,
    restart: bool,
    update: bool,
) -> None:
    base = base or DEFAULT_URLS.get(name)
    if not base:
        raise click.UsageError(f"{name}: pass --url, the address of the {name} server")
    if not api_key:
        raise click.UsageError(f"{name}: pass --api-key (or set BALISE_IMPORT_API_KEY)")
    if group and name != "bitly":
        raise click.UsageError("--group is for bitly")
    try:
        peer = importers.make_peer(name, base, api_key, group=group)
    except importers.PeerError as exc:
        raise click.UsageError(str(exc)) from None
    state = _State(state_path or Path(f"balise-import-{name}.json"), name, base.rstrip("/"))
    cursor = None if restart else state.load()
    if cursor is not None:
        click.echo(f"{name}: continuing where the last run stopped ({state.path})", err=True)
    writer = _Writer(settings, rules(settings, update=update, saved_by=f"import:{name}"))
    read = 0
    try:
        for page in peer.pages(cursor):
            report = writer.write(page.records)
            read += len(page.records)
            state.save(page.next_cursor)
            of = f" of {page.total}" if page.total is not None else ""
            click.echo(
                f"{name} {page.label}: {len(page.records)} read, {report.count('imported')} "
                f"imported, {report.count('updated')} updated, {report.count('skipped')} "
                f"skipped, {report.count('failed')} failed ({read}{of} read so far)",
                err=True,
            )
    except importers.PeerError as exc:
        raise Stopped(f"{exc} [state kept in {state.path}]") from None
    finally:
        writer.close()
    state.done()
    writer.finish(f"{name} {base}")


class _Writer:
    """Writes pages of records, one transaction each; reports each problem on a line."""

    def __init__(self, settings: dict[str, Any], rules: Rules) -> None:
        self.rules = rules
        self.engine = open_database()
        self.invalidator = Invalidator(_NoCache(), str(settings.get("REDIS_URL") or ""))
        self.totals: dict[str, int] = {}
        self.failed: list[Result] = []
        self.ignored: set[str] = set()

    def write(self, page: list[Record]) -> PageReport:
        if not page:
            return PageReport()
        try:
            with self.engine.begin() as conn:
                take_changed(conn)
                report = import_page(conn, page, self.rules)
                changed = take_changed(conn)
        except DBAPIError as exc:  # nothing of this page was written
            raise Stopped(
                f"database error on {shown(str(self.engine.url))} while importing "
                f"{page[0].where} to {page[-1].where} (nothing of these was written): "
                f"{exc.orig.__class__.__name__}"
            ) from None
        self.invalidator.changed(changed)
        for result in report.results:
            self.totals[result.status] = self.totals.get(result.status, 0) + 1
            if result.status in ("failed", "skipped") or result.message:
                slug = f" ({result.slug})" if result.slug else ""
                click.echo(f"{result.where}{slug}: {result.status}: {result.message}", err=True)
            if result.status == "failed":
                self.failed.append(result)
        new = report.ignored - self.ignored
        if new:
            self.ignored |= new
            click.echo(
                f"fields this server does not take, ignored: {', '.join(sorted(new))}", err=True
            )
        return report

    def close(self) -> None:
        self.engine.dispose()

    def finish(self, source: str) -> None:
        counts = ", ".join(
            f"{self.totals.get(status, 0)} {status}"
            for status in ("imported", "updated", "skipped", "failed")
        )
        click.echo(f"{source}: {counts}")
        if self.failed:
            where = ", ".join(r.where for r in self.failed[:20])
            more = f" and {len(self.failed) - 20} more" if len(self.failed) > 20 else ""
            click.echo(f"{len(self.failed)} refused: {where}{more}", err=True)
            sys.exit(EXIT_FAILED_ROWS)


class _NoCache:
    """The command serves nothing: only other instances need to hear of the changes."""

    def invalidate(self, key: str) -> None:
        pass

    def invalidate_all(self) -> None:
        pass


class _State:
    """The cursor of the next page, kept in a small JSON file after each page is committed,
    so a run that stops (Ctrl-C, a peer error) continues there; removed once the import ends."""

    def __init__(self, path: Path, peer: str, base: str) -> None:
        self.path, self.peer, self.base = path, peer, base

    def load(self) -> str | None:
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(saved, dict) or (saved.get("peer"), saved.get("url")) != (
            self.peer,
            self.base,
        ):
            return None
        cursor = saved.get("cursor")
        return cursor if isinstance(cursor, str) else None

    def save(self, cursor: str | None) -> None:
        partial = self.path.with_name(self.path.name + ".partial")
        body = {"peer": self.peer, "url": self.base, "cursor": cursor}
        partial.write_text(json.dumps(body), encoding="utf-8")
        os.replace(partial, self.path)

    def done(self) -> None:
        self.path.unlink(missing_ok=True)
