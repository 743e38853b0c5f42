"""Sign-in and sign-out. Failed sign-ins are rate limited per account and per client address:
each attempt is counted before its password is checked, and handed back when it succeeds."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from balise.accounts import users
from balise.web.context import transaction
from balise.web.dashboard.blueprint import (
    bp,
    current_user,
    render,
    safe_next,
    sign_in,
    sign_out,
)
from balise.web.limits.attempts import Attempts

SIGN_IN_LIMITS = (
    Attempts("login-address", "RATELIMIT_LOGIN_ADDRESS"),
    Attempts("login-account", "RATELIMIT_LOGIN_ACCOUNT"),
)


def _account_key() -> str:
    email = request.form.get("email", "").strip().lower()[:254]
    return "login-account:" + hashlib.sha256(email.encode("utf-8")).hexdigest()[:32]


def _address_key() -> str:
    return "login-address:" + get_remote_address()


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = request.values.get("next")
    if current_user() is not None:
        return redirect(safe_next(target))
    if request.method == "GET":
        return render("login.html", email="", error=None, next=target)
    email = request.form.get("email", "").strip()
    counted = _count_attempt()  # before the password is checked: 429 once the limit is used
    with transaction() as conn:
        account = users.check_credentials(conn, email, request.form.get("password", ""))
    if account is not None and not account.disabled:
        _hand_back(counted)  # only failed sign-ins use the limits up
        sign_in(account)
        return redirect(safe_next(target))
    if account is not None:
        error = _("This account is disabled. Ask an administrator.")
    else:
        error = _("Wrong e-mail address or password.")
    return render("login.html", 200, email=email, error=error, next=target)


@bp.errorhandler(TooManyRequests)
def too_many(exc: TooManyRequests) -> Response:
    html, _status = render(
        "login.html",
        email=request.form.get("email", ""),
        error=_("Too many failed sign-ins. Please wait a few minutes and try again."),
        next=request.values.get("next"),
    )
    response = Response(html, status=429, mimetype="text/html")
    for name, value in exc.get_headers():
        if name.lower() == "retry-after":
            response.headers[name] = value
    return response


@bp.post("/logout")
def logout() -> Response:
    sign_out()
    flash(_("You are signed out."), "info")
    return redirect(url_for("dashboard.login"))


def _count_attempt() -> list[tuple[Attempts, str]]:
    """Count this sign-in per address and per account, or raise 429 when either is used up."""
    counted: list[tuple[Attempts, str]] = []
    for attempts, ident in zip(SIGN_IN_LIMITS, (_address_key(), _account_key()), strict=True):
        wait = attempts.take(ident)
        if wait is not None:
            _hand_back(counted)  # refused before any check: it counts nowhere
            raise TooManyRequests(retry_after=wait)
        counted.append((attempts, ident))
    return counted


def _hand_back(counted: list[tuple[Attempts, str]]) -> None:
    for attempts, ident in counted:
        attempts.give_back(ident)
