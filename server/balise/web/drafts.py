"""Drafts asked for over HTTP (API and dashboard) run on the request's thread, in a slot."""

from __future__ import annotations

from typing import Any

from balise.links.store import Link
from balise.summaries import drafting
from balise.summaries.slots import DraftSlots, concurrency
from balise.web.context import state


def slots() -> DraftSlots:
    """This app's draft slots, sized from its settings (made once; setdefault is atomic)."""
    services = state().services
    found = services.get("drafts")
    if found is None:
        found = services.setdefault("drafts", DraftSlots(concurrency(state().settings)))
    return found  # type: ignore[no-any-return]


def run(link: Link, mode: str, owner: str) -> dict[str, Any]:
    """drafting.draft() within a slot of `owner`; DraftsBusy (503) or DraftInProgress (429)."""
    with slots().hold(owner):
        return drafting.draft(link, mode, drafting.Options.from_settings(state().settings))
