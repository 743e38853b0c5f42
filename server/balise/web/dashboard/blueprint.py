"""The /dashboard blueprint: session sign-in, CSRF on every form, roles, language, page shell.

Pages live in the modules beside this one and register on `bp`. Every dashboard request loads the
signed-in account from the database, so a disabled account or a changed password ends its
sessions at once. Only this blueprint is CSRF-checked: the JSON API and the reader's beacon
are not forms.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
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

from balise.accounts import users
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
    """Where to go after signing in: only a dashboard path on this site, never elsewhere."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/dashboard"):
            if not target.startswith("//") and "\\" not in target:
                return target
    return url_for("dashboard.links")


def sign_in(account: users.User) -> None:
    session.clear()  # a fresh session (and CSRF token) for the new identity
    session.permanent = True
    session["uid"] = account.id
    session["stamp"] = account.session_stamp


def _load_user() -> users.User | None:
    uid = session.get("uid")
    if uid is None:
        return None
    with transaction() as conn:
        account = users.get_user(conn, int(uid))
    if account is None or account.disabled or session.get("stamp") != account.session_stamp:
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
