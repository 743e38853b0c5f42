"""Dashboard link pages: the list (search, tag, sort, cursor pages), a link, create, edit,
disable or enable, delete with confirmation."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import Connection
from werkzeug.wrappers import Response

from balise.errors import BadRequest, NotFound, Problem, SlugTaken
from balise.links import copies, listing
from balise.links import store as links
from balise.summaries import cards
from balise.summaries import store as summaries
from balise.web.context import state, transaction
from balise.web.dashboard import forms
from balise.web.dashboard.blueprint import bp, render, require, user
from balise.web.dashboard.timezones import viewer_tz

PAGE_SIZE = 25


def find(conn: Connection, slug: str) -> links.Link:
    link = links.get_link_by_slug(conn, slug)
    if link is None:
        raise NotFound(f"No link with the slug '{slug}'.")
    return link


@bp.get("/")
def home() -> Response:
    return redirect(url_for("dashboard.links"))


@bp.get("/links", endpoint="links")
@require("viewer")
def links_page() -> Any:
    q = request.args.get("q", "").strip()[:200]
    tag = request.args.get("tag", "").strip()[:50]
    sort = request.args.get("sort", "newest")
    if sort not in listing.SORTS:
        sort = "newest"
    cursor = request.args.get("cursor") or None
    with transaction() as conn:
        rows, next_cursor = listing.list_page(
            conn, q=q or None, tag=tag or None, sort=sort, limit=PAGE_SIZE, cursor=cursor
        )
        tags = links.tag_counts(conn)
        page_cards = cards.cards_for(conn, [row.link.id for row in rows])
    return render(
        "links.html",
        rows=rows,
        page_cards=page_cards,
        tags=tags,
        q=q,
        tag=tag,
        sort=sort,
        cursor=cursor,
        next_cursor=next_cursor,
    )


@bp.get("/links/<slug>")
@require("viewer")
def link_page(slug: str) -> Any:
    with transaction() as conn:
        link = find(conn, slug)
        clicks = listing.click_totals(conn, [link.id])[link.id]
        summary = summaries.get_summary(conn, link.id)
        card = cards.get_card(conn, link.id)
    return render("link.html", link=link, clicks=clicks, summary=summary, card=card)


@bp.route("/links/new", methods=["GET", "POST"])
@require("editor")
def new_link() -> Any:
    tz = viewer_tz()
    if request.method == "GET":
        return render("link_form.html", data=forms.blank_form(), errors={}, link=None)
    data = forms.read_form(request.form)
    values, errors = forms.check(data, tz, creating=True, base_url=state().server)
    if errors and data["slug"] and "slug" not in errors:
        with transaction() as conn:  # said now, with the other errors, not after they are fixed
            if links.get_link_by_slug(conn, data["slug"]) is not None:
                taken = SlugTaken(f"The slug '{data['slug']}' is already taken.")
                errors["slug"] = forms.domain_errors(taken)["slug"]
    if not errors:
        try:
            with transaction() as conn:
                link = links.create_link(conn, values, base_url=state().server, user_id=user().id)
        except Problem as exc:
            errors = forms.domain_errors(exc)
    if errors:
        return render("link_form.html", 422, data=data, errors=errors, link=None)
    flash(_("Link %(slug)s created.", slug=link.slug), "success")
    return redirect(url_for("dashboard.link_page", slug=link.slug))


@bp.route("/links/<slug>/edit", methods=["GET", "POST"])
@require("editor")
def edit_link(slug: str) -> Any:
    tz = viewer_tz()
    with transaction() as conn:
        link = find(conn, slug)
    if request.method == "GET":
        return render("link_form.html", data=forms.form_from_link(link, tz), errors={}, link=link)
    data = forms.read_form(request.form)
    data["slug"] = data["slug"] or link.slug  # a blank slug keeps the link's
    values, errors = forms.check(
        data, tz, creating=False, base_url=state().server, current_slug=link.slug
    )
    if errors and "slug" in values and "slug" not in errors:
        _say_taken(data["slug"], errors, link)
    if not errors:
        try:
            with transaction() as conn:
                link = links.update_link(conn, find(conn, slug), values, base_url=state().server)
        except Problem as exc:
            errors = forms.domain_errors(exc)
    if errors:
        return render("link_form.html", 422, data=data, errors=errors, link=link)
    flash(_("Changes saved."), "success")
    return redirect(url_for("dashboard.link_page", slug=link.slug))


def _say_taken(slug: str, errors: forms.Errors, link: links.Link | None = None) -> None:
    """A slug already taken (by another link) said with the other errors, not after them."""
    with transaction() as conn:
        other = links.get_link_by_slug(conn, slug)
    if other is not None and (link is None or other.id != link.id):
        errors["slug"] = forms.domain_errors(SlugTaken(f"The slug '{slug}' is already taken."))[
            "slug"
        ]


@bp.post("/links/<slug>/state")
@require("editor")
def set_link_state(slug: str) -> Response:
    wanted = request.form.get("disabled")
    if wanted not in ("0", "1"):
        raise BadRequest("The form must say disabled=0 or disabled=1.")
    with transaction() as conn:
        link = links.update_link(
            conn, find(conn, slug), {"disabled": wanted == "1"}, base_url=state().server
        )
    if link.disabled:
        flash(_("Link disabled: it now answers “unavailable”."), "success")
    else:
        flash(_("Link enabled."), "success")
    return redirect(url_for("dashboard.link_page", slug=link.slug))


@bp.route("/links/<slug>/delete", methods=["GET", "POST"])
@require("editor")
def delete_link(slug: str) -> Any:
    with transaction() as conn:
        link = find(conn, slug)
        if request.method == "POST":
            links.delete_link(conn, link)
    if request.method == "GET":
        return render("confirm_delete.html", link=link)
    flash(_("Link %(slug)s deleted.", slug=link.slug), "success")
    return redirect(url_for("dashboard.links"))


@bp.post("/links/<slug>/duplicate")
@require("editor")
def duplicate_link(slug: str) -> Response:
    """A copy under a random slug (every field, tags, summary; no clicks), opened for editing."""
    with transaction() as conn:
        copy, _summary = copies.duplicate(
            conn, find(conn, slug), user_id=user().id, saved_by=user().email
        )
    flash(
        _("Copy %(slug)s created: change its slug or anything else here.", slug=copy.slug),
        "success",
    )
    return redirect(url_for("dashboard.edit_link", slug=copy.slug))
