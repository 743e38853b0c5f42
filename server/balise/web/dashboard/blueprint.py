"""The /dashboard blueprint: session sign-in, CSRF on every form, roles, language, page shell.

Pages live in the modules beside this one and register on `bp`. Sessions live on the server
(accounts/sessions.py): every dashboard request looks its token up, with the account, so
signing out, a changed password or a disabled account ends sessions at once. Only this
blueprint is CSRF-checked: the JSON API and the reader's beacon are not forms.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.wrappers import Response

from balise.accounts import sessions, users
from balise.errors import Forbidden, Problem
from balise.web.context import state, transaction
from balise.web.dashboard.i18n import integer, moment
from balise.web.dashboard.timezones import viewer_tz

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
csrf = CSRFProtect()
STATIC = Path(__file__).parent / "static"
PUBLIC_ENDPOINTS = {"dashboard.login"}

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex",
}


def require(role: str) -> Callable[[F], F]:
    """Declare the least account role a page needs (viewer < editor < admin)."""

    def decorate(view: F) -> F:
        view.balise_role = role  # type: ignore[attr-defined]
        return view

    return decorate


def current_user() -> users.User | None:
    return g.get("user")


def user() -> users.User:
    """The signed-in account (views behind the sign-in guard only)."""
    account = g.get("user")
    assert account is not None  # noqa: S101 - the before_request guard ensures it
    return account


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a dashboard path on this site, never elsewhere.

    Control and invisible characters are refused too: a line break would end up in the
    Location header (and Werkzeug refuses to send it)."""
    if target and target.isprintable():
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/dashboard"):
            if not target.startswith("//") and "\\" not in target:
                return target
    return url_for("dashboard.links")


def _idle() -> timedelta:
    return timedelta(days=int(state().settings["SESSION_DAYS"]))


def sign_in(account: users.User) -> None:
    """Open a server-side session for `account` in a fresh cookie (and CSRF token)."""
    session.clear()
    session.permanent = True
    with transaction() as conn:
        session["sid"] = sessions.start(conn, account.id, datetime.now(timezone.utc), _idle())


def sign_out() -> None:
    """End this browser's session on the server: a copy of its cookie stops working too."""
    token = session.get("sid")
    if isinstance(token, str):
        with transaction() as conn:
            sessions.end(conn, token)
    session.clear()


def _load_user() -> users.User | None:
    token = session.get("sid")
    if not isinstance(token, str):
        session.pop("uid", None)  # a cookie from before server-side sessions
        return None
    with transaction() as conn:
        uid = sessions.user_id_of(conn, token, datetime.now(timezone.utc), _idle())
        account = users.get_user(conn, uid) if uid is not None else None
    if account is None or account.disabled:
        session.clear()
        return None
    return account


@bp.before_request
def guard() -> Response | None:
    csrf.protect()  # POST, PUT, PATCH, DELETE only
    g.user = _load_user()
    endpoint = request.endpoint or ""
    if g.user is None and endpoint not in PUBLIC_ENDPOINTS:
        return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
    role = getattr(current_app.view_functions.get(endpoint), "balise_role", None)
    if role is not None and not user().allows(role):
        raise Forbidden(f"This page needs the {role} role.")
    return None


@bp.after_request
def headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.vary.add("Cookie")
    return response


def page_lang() -> str:
    """The page's language: the account's choice, else Accept-Language (i18n.select_locale)."""
    return str(get_locale())


@cache
def _fingerprint(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]


def asset_url(name: str) -> str:
    """URL of a file in web/static with a content fingerprint, so caches never serve stale CSS."""
    return url_for("static", filename=name, v=_fingerprint(name))


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    lang, tz = page_lang(), viewer_tz()
    html = render_template(
        f"dashboard/{template}",
        lang=lang,
        tz=tz,
        tz_name=tz.key,
        me=current_user(),
        asset_url=asset_url,
        short_url=state().short_url,
        fmt_dt=lambda value, time=True: moment(value, tz, lang, time=time),
        fmt_int=lambda value: integer(value, lang),
        **context,
    )
    return html, status


def _error_page(status: int, title: str, text: str) -> Response:
    html, _ = render("error.html", status=status, title=title, text=text)
    return Response(html, status=status, mimetype="text/html")


@bp.errorhandler(CSRFError)
def csrf_failed(_exc: CSRFError) -> Response:
    return _error_page(
        400,
        _("Form expired"),
        _(
            "This form is no longer valid (the session expired, or it was sent from another "
            "site). Reload the page and try again."
        ),
    )


@bp.errorhandler(Problem)
def problem_page(problem: Problem) -> Response:
    if problem.status == 403:
        return _error_page(
            403, _("Not allowed"), _("Your role does not allow this. Ask an administrator.")
        )
    if problem.status == 404:
        return _error_page(404, _("Not found"), _("This page or link does not exist (any more)."))
    return _error_page(problem.status, _("Something went wrong"), problem.detail)
