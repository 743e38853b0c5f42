"""Per-app state shared by blueprints: settings and the one engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Connection, Engine


@dataclass
class Balise:
    settings: dict[str, Any]
    engine: Engine
    services: dict[str, Any] = field(default_factory=dict)
    shutdown_hooks: list[Callable[[], None]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return str(self.settings["BASE_URL"])

    def short_url(self, slug: str) -> str:
        return f"{self.base_url}/{slug}"

    def on_shutdown(self, hook: Callable[[], None]) -> None:
        """Run `hook` when the server stops (e.g. flush buffered clicks)."""
        self.shutdown_hooks.append(hook)

    def shutdown(self) -> None:
        while self.shutdown_hooks:
            self.shutdown_hooks.pop()()
        self.engine.dispose()


def state(app: Flask | None = None) -> Balise:
    return (app or current_app).extensions["balise"]  # type: ignore[no-any-return]


@contextmanager
def transaction() -> Iterator[Connection]:
    """One connection and transaction for a unit of work; committed when the block succeeds."""
    with state().engine.begin() as conn:
        yield conn
