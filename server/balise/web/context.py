"""Per-app state shared by blueprints: settings, the one engine, and the draft slots."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Connection, Engine

from balise.db.changes import take_changed
from balise.db.outage import DatabaseStatus
from balise.links.hosts import OwnServer
from balise.links.store import Link
from balise.summaries import drafting
from balise.summaries.slots import DraftSlots, concurrency


@dataclass
class Balise:
    settings: dict[str, Any]
    engine: Engine
    database: DatabaseStatus
    services: dict[str, Any] = field(default_factory=dict)
    shutdown_hooks: list[Callable[[], None]] = field(default_factory=list)
    change_hooks: list[Callable[[set[str]], None]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return str(self.settings["BASE_URL"])

    @property
    def server(self) -> OwnServer:
        """This server as a target would reach it: links leading back to it are refused."""
        port = self.settings.get("PORT")
        return OwnServer(self.base_url, self.settings.get("HOST"), int(port) if port else None)

    def short_url(self, slug: str) -> str:
        return f"{self.base_url}/{slug}"

    def on_links_changed(self, hook: Callable[[set[str]], None]) -> None:
        """Call `hook(slugs)` after a unit of work that changed those links commits."""
        self.change_hooks.append(hook)

    def links_changed(self, slugs: set[str]) -> None:
        for hook in self.change_hooks:
            hook(slugs)

    def on_shutdown(self, hook: Callable[[], None]) -> None:
        """Run `hook` when the server stops (e.g. flush buffered clicks)."""
        self.shutdown_hooks.append(hook)

    def shutdown(self) -> None:
        while self.shutdown_hooks:
            self.shutdown_hooks.pop()()
        self.database.close()
        self.engine.dispose()


def state(app: Flask | None = None) -> Balise:
    return (app or current_app).extensions["balise"]  # type: ignore[no-any-return]


@contextmanager
def transaction() -> Iterator[Connection]:
    """One connection and transaction for a unit of work; committed when the block succeeds.

    Links the work marked as changed (db.changes) are announced once the commit is done, so no
    instance can reload a row older than the change it was told about.
    """
    balise = state()
    with balise.engine.begin() as conn:
        take_changed(conn)  # a pooled connection may carry marks from an aborted unit of work
        try:
            yield conn
        finally:
            changed = take_changed(conn)
    if changed:
        balise.links_changed(changed)


def draft_slots() -> DraftSlots:
    """This app's draft slots, sized from its settings (made once; setdefault is atomic)."""
    services = state().services
    found = services.get("drafts")
    if found is None:
        found = services.setdefault("drafts", DraftSlots(concurrency(state().settings)))
    return found  # type: ignore[no-any-return]


def run_draft(link: Link, mode: str, owner: str) -> dict[str, Any]:
    """A draft asked for over HTTP (API or dashboard), on the request's thread, within a slot of
    `owner`: DraftsBusy (503) or DraftInProgress (429) when none is free."""
    with draft_slots().hold(owner):
        return drafting.draft(link, mode, drafting.Options.from_settings(state().settings))
