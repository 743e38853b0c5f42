"""POST /api/v1/summaries/seen: the extension showed a card, so count one preview view.

Look-up answers carry a signed `seen_token` (balise.summaries.seen); the extension sends it
back, alone, when it actually shows the card. The report names no page: the server learns
that a card of this link was seen, nothing about where. Public and CORS-enabled like the
look-up itself (lookup.PUBLIC_ENDPOINTS); forged or expired tokens get 400 and count nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app
from spectree import Response as Responses

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


@bp.post("/summaries/seen")
@spec.validate(
    json=SeenIn,
    resp=Responses("HTTP_204", HTTP_400=ProblemOut, HTTP_422=ProblemOut),
    tags=["public look-up"],
)
def preview_seen(json: SeenIn) -> tuple[str, int]:
    """A card was shown: one preview view for the link its token names (if still answered)."""
    slug = seen_tokens().verify(json.token, datetime.now(timezone.utc))
    balise = state()
    with transaction() as conn:
        answers = summary_lookup.lookup(conn, [balise.short_url(slug)], base_url=balise.base_url)
        summary_lookup.count_preview_views(conn, answers.values())
    return "", 204
