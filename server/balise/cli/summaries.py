"""`balise summaries`: write a summary from a JSON file, show it, draft it from the page."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from balise.cli.common import connection
from balise.cli.common import settings as load_settings
from balise.errors import Problem, ValidationFailed
from balise.links import store as links
from balise.summaries import drafting
from balise.summaries import store as summaries
from balise.summaries.store import SECTIONS
from balise.web.summary_view import section_headings


def _find(conn: Any, slug: str) -> links.Link:
    link = links.get_link_by_slug(conn, slug)
    if link is None:
        raise click.ClickException(f"no link with the slug '{slug}'")
    return link


def _fail(exc: Problem) -> click.ClickException:
    if isinstance(exc, ValidationFailed):
        lines = [f"  {e['field']}: {e['message']}" for e in exc.errors]
        return click.ClickException("invalid summary:\n" + "\n".join(lines))
    return click.ClickException(exc.detail)


def _json(link: links.Link, summary: summaries.Summary, base_url: str) -> str:
    body = {"slug": link.slug, "short_url": f"{base_url}/{link.slug}", **summary.content()}
    body |= {
        "origin": summary.origin,
        "created_at": summary.created_at.isoformat() if summary.created_at else None,
        "updated_at": summary.updated_at.isoformat() if summary.updated_at else None,
    }
    return json.dumps(body, ensure_ascii=False, indent=2)


def _text(link: links.Link, summary: summaries.Summary) -> str:
    headings = section_headings(summary.lang)
    out = [summary.title, "", summary.teaser]
    for name in SECTIONS:
        for i, paragraph in enumerate(summaries.paragraphs(getattr(summary, name))):
            out += ["", headings[name].upper()] if i == 0 else [""]
            out.append(paragraph)
    out += ["", headings["source_url"].upper(), summary.source_url or link.url]
    out += ["", f"({summary.lang}, {summary.origin}, updated {summary.updated_at:%Y-%m-%d %H:%M})"]
    return "\n".join(out)


@click.group("summaries")
def summaries_group() -> None:
    """Article summaries shown on reader pages, in social cards and by the extension."""


@summaries_group.command("set")
@click.argument("slug")
@click.option(
    "--from-file",
    "source",
    type=click.File("r", encoding="utf-8"),
    required=True,
    help="JSON object with title, teaser, recap, ... ('-' reads standard input).",
)
def set_summary(slug: str, source: Any) -> None:
    """Write the link's summary from a JSON file (the previous one is kept as a version)."""
    try:
        values = json.load(source)
    except ValueError as exc:
        raise click.ClickException(f"the file is not valid JSON ({exc})") from None
    if not isinstance(values, dict):
        raise click.ClickException("the file must hold one JSON object")
    for key in ("slug", "short_url", "created_at", "updated_at"):
        values.pop(key, None)  # what `show --json` prints reads back as is
    with connection(write=True) as conn:
        link = _find(conn, slug)
        try:
            saved, created = summaries.save_summary(conn, link, values, saved_by="cli")
        except Problem as exc:
            raise _fail(exc) from None
    click.echo(f"{'created' if created else 'updated'} the summary of '{link.slug}'")


@summaries_group.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (what `set` reads).")
def show_summary(slug: str, as_json: bool) -> None:
    """Print the link's summary."""
    with connection(write=False) as conn:
        link = _find(conn, slug)
        summary = summaries.get_summary(conn, link.id)
    if summary is None:
        raise click.ClickException(f"the link '{link.slug}' has no summary")
    base_url = load_settings()["BASE_URL"]
    click.echo(_json(link, summary, base_url) if as_json else _text(link, summary))


@summaries_group.command("draft")
@click.argument("slug")
@click.option("--save", is_flag=True, help="Store the draft as the link's summary.")
@click.option("--generated", is_flag=True, help="Ask the language model (BALISE_LLM_URL).")
def draft_summary(slug: str, save: bool, generated: bool) -> None:
    """Draft a summary from the link's target page and print it as JSON."""
    settings = load_settings()
    with connection(write=False) as conn:
        link = _find(conn, slug)
    try:
        draft = drafting.draft(
            link,
            "generated" if generated else "extracted",
            drafting.Options.from_settings(settings),
        )
    except Problem as exc:
        raise _fail(exc) from None
    click.echo(json.dumps(draft, ensure_ascii=False, indent=2))
    if save:
        with connection(write=True) as conn:
            summaries.save_summary(conn, _find(conn, slug), draft, saved_by="cli")
        click.echo(f"saved as the summary of '{link.slug}'", err=True)
    sys.stdout.flush()
