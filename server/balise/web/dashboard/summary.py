"""The summary editor: every section, previews of the reader page and of the hover card,
character counts, drafts from the page or the language model, and the version history.

Saving goes through balise.summaries (the API's rules); drafts through balise.drafting, in
one of the server's draft slots (web/drafts.py). A draft
fills the form and is saved only when the editor saves it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from balise.errors import BadRequest, Problem, ValidationFailed
from balise.links.store import Link
from balise.summaries import store as summaries
from balise.summaries.slots import RETRY_AFTER, DraftInProgress, DraftsBusy
from balise.web.context import run_draft, state, transaction
from balise.web.dashboard.blueprint import bp, render, require, user
from balise.web.dashboard.i18n import field_message
from balise.web.dashboard.links import find
from balise.web.i18n import LANGS, N_, gettext_in
from balise.web.summary_view import section_headings, summary_page

FIELDS = ("lang", *summaries.TEXT_FIELDS, *summaries.URL_FIELDS)
ACTIONS = ("save", "preview", "draft", "generate", "delete")
# What the previews show besides the section headings: the reader page's status line and
# fallback link, and the hover card's footer (the extension's own wording).
PREVIEW_TEXT = {
    "redirecting": N_("Redirecting..."),
    "fallback": N_("If you are not redirected automatically, click here"),
    "card_preview_link": N_("Balise preview"),
}


def preview_text(lang: str) -> dict[str, str]:
    """Every text of the previews in `lang`: they follow the summary's language, and the
    editor's script switches them when it changes, so the page carries both languages."""
    texts = {name: gettext_in(lang, message) for name, message in PREVIEW_TEXT.items()}
    return section_headings(lang) | texts


def _form_of(summary: summaries.Summary | None, link: Link) -> dict[str, str]:
    if summary is None:
        return {name: "" for name in FIELDS} | {"lang": link.lang or "fr", "origin": "author"}
    values = {name: getattr(summary, name) or "" for name in FIELDS}
    return values | {"origin": summary.origin}


def _preview(link: Link, form: dict[str, str]) -> Any:
    """What the reader page would show for this (possibly unsaved) content."""
    lang = form.get("lang") if form.get("lang") in LANGS else "fr"
    draft = summaries.Summary(
        link_id=link.id,
        lang=lang,  # type: ignore[arg-type]
        title=form.get("title", ""),
        teaser=form.get("teaser", ""),
        **{name: form.get(name) or None for name in summaries.SECTIONS},
        source_url=form.get("source_url") or None,
        image_url=form.get("image_url") or None,
        origin=form.get("origin", "author"),
        created_at=None,
        updated_at=None,
    )
    return summary_page(link, draft)


def _history(conn: Any, link: Link) -> list[dict[str, Any]]:
    versions = summaries.list_versions(conn, link.id)
    current = summaries.get_summary(conn, link.id)
    items = []
    for i, version in enumerate(versions):
        older = versions[i + 1] if i + 1 < len(versions) else None
        items.append(
            {
                "version": version,
                "current": i == 0 and current is not None,
                "changed": summaries.changed_fields(version.content, older.content)
                if older
                else None,
                "sections": [
                    (name, summaries.paragraphs(version.content.get(name)))
                    for name in summaries.SECTIONS
                    if version.content.get(name)
                ],
            }
        )
    return items


def _page(link: Link, form: dict[str, str], status: int = 200, **context: Any) -> Any:
    with transaction() as conn:
        history = _history(conn, link)
        saved = summaries.get_summary(conn, link.id)
    source = form.get("source_url") or link.url
    return render(
        "summary.html",
        status,
        link=link,
        form=form,
        saved=saved,
        history=history,
        preview=_preview(link, form),
        preview_text={lang: preview_text(lang) for lang in LANGS},
        limits=summaries.LIMITS,
        sections=summaries.SECTIONS,
        host=(urlsplit(source).hostname or "").removeprefix("www."),
        target_host=urlsplit(link.url).hostname,
        llm_ready=bool(state().settings.get("LLM_URL")),
        errors=context.pop("errors", {}),
        **context,
    )


@bp.get("/links/<slug>/summary")
@require("viewer")
def summary_editor(slug: str) -> Any:
    with transaction() as conn:
        link = find(conn, slug)
        current = summaries.get_summary(conn, link.id)
    return _page(link, _form_of(current, link))


def _read_form() -> dict[str, str]:
    # Browsers send textarea lines as CRLF; the previews and counts work on plain newlines.
    form = {
        name: request.form.get(name, "").replace("\r\n", "\n").replace("\r", "\n")
        for name in FIELDS
    }
    origin = request.form.get("origin", "author")
    form["origin"] = origin if origin in summaries.ORIGINS else "author"
    return form


@bp.post("/links/<slug>/summary")
@require("editor")
def save_summary(slug: str) -> Any:
    action = request.form.get("action", "save")
    if action not in ACTIONS:
        raise BadRequest("Unknown action.")
    with transaction() as conn:
        link = find(conn, slug)
    form = _read_form()
    if action == "preview":
        return _page(link, form, previewing=True)
    if action in ("draft", "generate"):
        return _draft(link, form, "generated" if action == "generate" else "extracted")
    if action == "delete":
        with transaction() as conn:
            summaries.delete_summary(conn, find(conn, slug))
        flash(_("Summary removed. The history can bring it back."), "success")
        return redirect(url_for("dashboard.summary_editor", slug=link.slug))
    values = {name: form[name] for name in FIELDS}
    try:
        with transaction() as conn:
            summaries.save_summary(
                conn, find(conn, slug), values, origin=form["origin"], saved_by=user().email
            )
    except ValidationFailed as exc:
        errors = {e["field"]: field_message(e["message"]) for e in reversed(exc.errors)}
        return _page(link, form, 422, errors=errors)
    flash(_("Summary saved."), "success")
    return redirect(url_for("dashboard.summary_editor", slug=link.slug))


def _draft(link: Link, form: dict[str, str], mode: str) -> Any:
    try:
        # The page (and the model) are asked with no database connection held.
        draft = run_draft(link, mode, owner=f"account:{user().id}")
    except (DraftsBusy, DraftInProgress) as exc:
        if isinstance(exc, DraftsBusy):
            busy = _(
                "the server is already drafting as many summaries as it can. "
                "Try again in a few seconds."
            )
        else:
            busy = _("one of your drafts is still running. Wait for it to finish.")
        html, status = _page(link, form, exc.status, draft_error=busy, draft_mode=mode)
        return html, status, {"Retry-After": str(RETRY_AFTER)}
    except Problem as exc:
        return _page(link, form, exc.status, draft_error=exc.detail, draft_mode=mode)
    filled = {name: draft.get(name) or "" for name in FIELDS} | {"origin": draft["origin"]}
    return _page(
        link, filled, drafted=mode, notice=_("Draft ready: read it, correct it, then save.")
    )


@bp.post("/links/<slug>/summary/restore")
@require("editor")
def restore_summary(slug: str) -> Response:
    version = request.form.get("version", "")
    if not (version.isascii() and version.isdigit()):  # '²'.isdigit() is True
        raise BadRequest(_("Choose a version to restore."))
    with transaction() as conn:
        summaries.restore_version(conn, find(conn, slug), int(version), saved_by=user().email)
    flash(_("Version restored."), "success")
    return redirect(url_for("dashboard.summary_editor", slug=slug))
