"""Links API: create, list, read, update and delete short links."""

from typing import Any

from flask import g
from spectree import Response
from sqlalchemy import Connection

from balise.errors import NotFound
from balise.links import store as links
from balise.links.representation import link_data
from balise.links.slugs import with_short_urls
from balise.summaries import store as summaries
from balise.web.api.blueprint import bp, operation
from balise.web.api.schemas import (
    LinkCreate,
    LinkListQuery,
    LinkOut,
    LinkPage,
    LinkPatch,
    ProblemOut,
)
from balise.web.context import state, transaction
from balise.web.summary_view import summary_out

TAGS = ["links"]


def link_out(link: links.Link, conn: Connection) -> dict[str, Any]:
    """The JSON shape of a link (LinkOut): the same as webhook events carry."""
    return with_short_urls(link_data(conn, link), state().base_url)


def find_link(conn: Any, slug: str, tags: bool = True) -> links.Link:
    # A slug no link can have is not looked up (PostgreSQL refuses NUL in a query).
    link = links.get_link_by_slug(conn, slug, tags) if links.SLUG_RE.fullmatch(slug) else None
    if link is None:
        raise NotFound(f"No link with the slug '{slug}'.")
    return link


@bp.post("/links")
@operation(
    "editor", json=LinkCreate, resp=Response(HTTP_201=LinkOut, HTTP_409=ProblemOut), tags=TAGS
)
def create_link(json: LinkCreate) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Create a short link (random slug unless one is given)."""
    values = json.model_dump(exclude_unset=True)
    summary = values.pop("summary", None)
    with transaction() as conn:  # an invalid summary rolls the new link back too
        link = links.create_link(
            conn,
            values,
            base_url=state().server,
            api_key_id=g.api_key.id,
            user_id=g.api_key.user_id,
        )
        if summary is not None:
            saved, _ = summaries.save_summary(conn, link, summary, saved_by=g.api_key.name)
        body = link_out(link, conn)
    if summary is not None:
        body["summary"] = summary_out(link, saved)
    return body, 201, {"Location": body["short_url"]}


@bp.get("/links")
@operation(
    "viewer",
    query=LinkListQuery,
    resp=Response(HTTP_200=LinkPage, HTTP_400=ProblemOut),  # a cursor we did not hand out
    tags=TAGS,
)
def list_links(query: LinkListQuery) -> dict[str, Any]:
    """List links, newest first, with cursor pagination and filters."""
    with transaction() as conn:
        found, cursor = links.list_links(
            conn, q=query.q, tag=query.tag, limit=query.limit, cursor=query.cursor
        )
        return {"items": [link_out(link, conn) for link in found], "next_cursor": cursor}


@bp.get("/links/<slug>")
@operation("viewer", resp=Response(HTTP_200=LinkOut), tags=TAGS)
def get_link(slug: str) -> dict[str, Any]:
    """One link."""
    with transaction() as conn:
        return link_out(find_link(conn, slug), conn)


@bp.patch("/links/<slug>")
@operation(
    "editor", json=LinkPatch, resp=Response(HTTP_200=LinkOut, HTTP_409=ProblemOut), tags=TAGS
)
def update_link(slug: str, json: LinkPatch) -> dict[str, Any]:
    """Change some fields of a link; fields left out keep their value, null clears."""
    with transaction() as conn:
        link = find_link(conn, slug)
        updated = links.update_link(
            conn, link, json.model_dump(exclude_unset=True), base_url=state().server
        )
        return link_out(updated, conn)


@bp.delete("/links/<slug>")
@operation("editor", resp=Response("HTTP_204"), tags=TAGS)
def delete_link(slug: str) -> tuple[str, int]:
    """Delete a link with its summary and statistics."""
    with transaction() as conn:
        links.delete_link(conn, find_link(conn, slug))
    return "", 204
