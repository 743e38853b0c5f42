"""Rate limits (Flask-Limiter), one limiter per app so each app has its own storage and prefix.

Limits are declared where they apply (`limit_endpoint` for one view, `limit_endpoints` for a
budget several views share) and read their rate from settings on every request. Failed API
authentications are an application limit: those are checked before any blueprint hook, so
before authentication, whatever limits a route has of its own (a route's own limits are
checked inside the view, which a 401 never reaches).

429 answers carry Retry-After; other answers carry no rate-limit headers, so a reader page
served through Flask has the same headers as one served by the lean path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, current_app, request
from flask_limiter import ApplicationLimit, Limiter
from flask_limiter.util import get_remote_address

log = logging.getLogger(__name__)


def init_app(app: Flask) -> Limiter:
    settings = app.config["BALISE"]
    limiter = Limiter(
        key_func=get_remote_address,
        storage_uri=settings["RATELIMIT_STORAGE_URI"],
        key_prefix=settings["RATELIMIT_KEY_PREFIX"],
        strategy="moving-window",
        application_limits=[_api_auth_failures()],
        headers_enabled=False,
        # Redis down: keep limiting in this process's memory rather than fail requests.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    limiter.init_app(app)
    app.extensions["balise.limiter"] = limiter
    app.after_request(_retry_after)
    return limiter


def limiter(app: Flask | None = None) -> Limiter:
    return (app or current_app).extensions["balise.limiter"]  # type: ignore[no-any-return]


def setting(name: str) -> Callable[[], str]:
    """A limit string read from BALISE_<name> at request time."""
    return lambda: str(current_app.config["BALISE"][name])


def by_address(prefix: str) -> Callable[[], str]:
    """A limit key: the client address (BALISE_TRUSTED_PROXIES decides which), namespaced."""
    return lambda: f"{prefix}:{get_remote_address()}"


def limit_endpoint(app: Flask, endpoint: str, rate: Callable[[], str], **kwargs: Any) -> None:
    """Wrap the registered view of `endpoint` in a limit of this app's limiter."""
    view: Any = limiter(app).limit(rate, **kwargs)(app.view_functions[endpoint])
    app.view_functions[endpoint] = view


def limit_endpoints(
    app: Flask, endpoints: Iterable[str], rate: Callable[[], str], scope: str, **kwargs: Any
) -> None:
    """One budget (`scope`) shared by the views of `endpoints`."""
    decorate = limiter(app).shared_limit(rate, scope, **kwargs)
    for endpoint in endpoints:
        view: Any = decorate(app.view_functions[endpoint])
        app.view_functions[endpoint] = view


def _api_auth_failures() -> ApplicationLimit:
    """BALISE_RATELIMIT_AUTH_FAILURES: 401s per client address, counted on every API route."""
    return ApplicationLimit(
        setting("RATELIMIT_AUTH_FAILURES"),
        key_function=by_address("authfail"),
        scope="api-auth-failures",
        exempt_when=lambda: request.blueprint != "api",
        deduct_when=lambda response: response.status_code == 401,
        error_message="Too many failed authentications from this address.",
    )


def _retry_after(response: Response) -> Response:
    """Retry-After on every 429: seconds until the limit that refused lets a request through."""
    if response.status_code != 429 or "Retry-After" in response.headers:
        return response
    seconds = 60
    breached = limiter().current_limit
    if breached is not None:
        try:
            seconds = int(breached.reset_at - time.time())
        except Exception as exc:  # noqa: BLE001 - the storage went away meanwhile
            log.warning("could not read when a rate limit resets: %s", exc)
    response.headers["Retry-After"] = str(max(seconds, 1))
    return response
