"""Rate limits (Flask-Limiter), one limiter per app so each app has its own storage and prefix.

Limits are declared where they apply (`limit_endpoint` for a view, `limit_blueprint` for all
of a blueprint) and read their rate from settings on every request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def init_app(app: Flask) -> Limiter:
    settings = app.config["BALISE"]
    limiter = Limiter(
        key_func=get_remote_address,
        storage_uri=settings["RATELIMIT_STORAGE_URI"],
        key_prefix=settings["RATELIMIT_KEY_PREFIX"],
        strategy="moving-window",
        headers_enabled=True,
        # Redis down: keep limiting in this process's memory rather than fail requests.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    limiter.init_app(app)
    app.extensions["balise.limiter"] = limiter
    return limiter


def limiter(app: Flask | None = None) -> Limiter:
    return (app or current_app).extensions["balise.limiter"]  # type: ignore[no-any-return]


def setting(name: str) -> Callable[[], str]:
    """A limit string read from BALISE_<name> at request time."""
    return lambda: str(current_app.config["BALISE"][name])


def limit_endpoint(app: Flask, endpoint: str, rate: Callable[[], str], **kwargs: Any) -> None:
    """Wrap the registered view of `endpoint` in a limit of this app's limiter."""
    view: Any = limiter(app).limit(rate, **kwargs)(app.view_functions[endpoint])
    app.view_functions[endpoint] = view


def limit_blueprint(app: Flask, bp: Blueprint, rate: Callable[[], str], **kwargs: Any) -> None:
    limiter(app).limit(rate, **kwargs)(bp)
