"""GET /share/<token>: one link's stats, read-only, for whoever holds a valid share link.

No session and no dashboard: the page shows that link's statistics and nothing else, and says
until when the link is valid. Forged, tampered, revoked or expired tokens get a localised page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from balise.accounts import shares
from balise.links import store as links
from balise.web.context import state, transaction
from balise.web.dashboard.blueprint import SECURITY_HEADERS, render
from balise.web.dashboard.stats import stats_context

bp = Blueprint("share", __name__)


def _share_secret_of(link_id: int) -> str | None:
    with transaction() as conn:
        link = links.get_link_by_id(conn, link_id)
    return link.share_secret if link is not None else None


@bp.get("/share/<token>")
def shared_stats(token: str) -> Any:
    try:
        link_id, expires = shares.read_token(
            current_app.config["SECRET_KEY"], token, _share_secret_of
        )
    except shares.ShareExpired:
        return render(
            "share_error.html",
            410,
            title=_("Share link expired"),
            text=_("This share link has expired. Ask the person who sent it for a new one."),
        )
    except shares.ShareInvalid:
        return render(
            "share_error.html",
            404,
            title=_("Share link not valid"),
            text=_(
                "This share link is not valid: it is incomplete, has been altered or has been "
                "revoked."
            ),
        )
    with transaction() as conn:
        link = links.get_link_by_id(conn, link_id)
    assert link is not None  # noqa: S101 - read_token found its secret just above
    return render(
        "share.html",
        link=link,
        token=token,
        expires=expires,
        short=state().short_url(link.slug),
        **stats_context(link),
    )


@bp.after_request
def headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # The token is the credential: never send it on to another site.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
