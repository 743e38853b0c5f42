"""Sign-in and sign-out. Failed sign-ins are rate limited per account and per client address."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from balise.accounts import users
from balise.web import limits
from balise.web.context import transaction
from balise.web.dashboard.blueprint import bp, current_user, render, safe_next, sign_in


def _failed(_response: Response) -> bool:
    return bool(g.get("login_failed"))


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
    with transaction() as conn:
        account = users.check_credentials(conn, email, request.form.get("password", ""))
    if account is not None and not account.disabled:
        sign_in(account)
        return redirect(safe_next(target))
    g.login_failed = True
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
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("dashboard.login"))


def limit_failed_sign_ins(app: Flask) -> None:
    """Count failed sign-ins per address and per account (rates read from settings)."""
    for setting, key_func in (
        ("RATELIMIT_LOGIN_ADDRESS", _address_key),
        ("RATELIMIT_LOGIN_ACCOUNT", _account_key),
    ):
        limits.limit_endpoint(
            app,
            "dashboard.login",
            limits.setting(setting),
            key_func=key_func,
            methods=["POST"],
            deduct_when=_failed,
        )
