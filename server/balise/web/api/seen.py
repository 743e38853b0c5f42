"""POST /api/v1/summaries/seen: the extension showed a card, so count one preview view.

Look-up answers carry a signed `seen_token` (balise.summaries.seen); the extension sends it
back, alone, when it actually shows the card. The report names no page: the server learns
that a card of this link was seen, nothing about where. Public and CORS-enabled like the
look-up itself (lookup.PUBLIC_ENDPOINTS); forged or expired tokens get 400 and count nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app, request
from spectree import Response as Responses

from balise.analytics.previews import count_preview_views
from balise.analytics.visitors import day_of, visitor_hash
from balise.summaries import lookup as summary_lookup
from balise.summaries.seen import SeenTokens
from balise.web.api.blueprint import bp, spec
from balise.web.api.schemas import ProblemOut
from balise.web.api.schemas.summaries import SeenIn
from balise.web.context import state, transaction


def seen_tokens() -> SeenTokens:
    """This app's signer of preview tokens (made once: it derives a key)."""
    services = state().services
    if "seen_tokens" not in services:
        services["seen_tokens"] = SeenTokens(current_app.config["SECRET_KEY"])
    return services["seen_tokens"]  # type: ignore[no-any-return]


def this_viewer() -> tuple[str, datetime] | None:
    """This request's visitor hash under today's salt (the one clicks use), and the time."""
    recorder = state().services["clicks"]
    now = recorder.clock()
    salt = recorder.salts.salt_for(day_of(now), now)
    if salt is None:  # only a past day's salt can be missing
        return None
    return visitor_hash(salt, request.remote_addr or "", request.user_agent.string), now


@bp.post("/summaries/seen")
@spec.validate(
    json=SeenIn,
    resp=Responses("HTTP_204", HTTP_400=ProblemOut, HTTP_422=ProblemOut, HTTP_429=ProblemOut),
    tags=["public look-up"],
)
def preview_seen(json: SeenIn) -> tuple[str, int]:
    """A card was shown: one preview view for the link its token names (if still answered)."""
    slug = seen_tokens().verify(json.token, datetime.now(timezone.utc))
    balise = state()
    with transaction() as conn:
        answers = summary_lookup.lookup(conn, [balise.short_url(slug)], base_url=balise.base_url)
        viewer = this_viewer()
        shown = [found.link_id for found in answers.values() if found is not None]
        if viewer is not None:
            count_preview_views(conn, shown, *viewer)
    return "", 204
