"""The account page (language, time zone, password) and the account's API keys.

An API key made here belongs to the signed-in account and never has a higher role than it;
admins also see, and may revoke, every other key (including the ones made with the CLI).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import Connection
from werkzeug.wrappers import Response

from balise.accounts import keys, users
from balise.errors import Forbidden, NotFound, Problem
from balise.web.context import transaction
from balise.web.dashboard.blueprint import bp, render, require, sign_in, user
from balise.web.dashboard.i18n import field_message
from balise.web.dashboard.timezones import COOKIE, all_zones, parse_tz

TZ_COOKIE_AGE = 365 * 24 * 3600


@bp.get("/account")
@require("viewer")
def account() -> Any:
    return render("account.html", zones=all_zones(), errors={})


@bp.post("/account")
@require("viewer")
def save_account() -> Response:
    lang = request.form.get("lang") or None
    with transaction() as conn:
        users.set_lang(conn, user(), lang if lang in users.LANGS else None)
    response = redirect(url_for("dashboard.account"))
    zone = parse_tz(request.form.get("tz"))
    if zone is not None:
        response.set_cookie(COOKIE, zone.key, max_age=TZ_COOKIE_AGE, samesite="Lax", path="/")
    flash(_("Preferences saved."), "success")
    return response


@bp.post("/account/password")
@require("viewer")
def change_password() -> Any:
    errors: dict[str, str] = {}
    new = request.form.get("new_password", "")
    if not users.verify_password(user(), request.form.get("current_password", "")):
        errors["current_password"] = _("The current password is wrong")
    elif new != request.form.get("confirm_password", ""):
        errors["confirm_password"] = _("The two passwords do not match")
    else:
        try:
            with transaction() as conn:
                updated = users.set_password(conn, user(), new)
        except Problem as exc:
            errors["new_password"] = field_message(getattr(exc, "errors", [{}])[0]["message"])
    if errors:
        return render("account.html", 422, zones=all_zones(), errors=errors)
    sign_in(updated)  # this session goes on; the account's other sessions are signed out
    flash(_("Password changed. Your other sessions have been signed out."), "success")
    return redirect(url_for("dashboard.account"))


def _keys_page(conn: Connection, status: int = 200, **context: Any) -> Any:
    me = user()
    is_admin = me.allows("admin")
    found = keys.list_keys(conn, user_id=None if is_admin else me.id)
    owners = {u.id: u.email for u in users.list_users(conn)} if is_admin else {me.id: me.email}
    roles = [r for r in keys.ROLES if me.allows(r)]
    context.setdefault("errors", {})
    context.setdefault("form", {"name": "", "role": roles[0]})
    return render("keys.html", status, api_keys=found, owners=owners, roles=roles, **context)


@bp.get("/keys")
@require("viewer")
def keys_page() -> Any:
    with transaction() as conn:
        return _keys_page(conn)


@bp.post("/keys")
@require("viewer")
def create_key() -> Any:
    name = request.form.get("name", "").strip()
    role = request.form.get("role", "")
    form = {"name": name, "role": role}
    if role not in keys.ROLES or not user().allows(role):
        with transaction() as conn:
            refused = _("Your role cannot create a key of this level")
            return _keys_page(conn, 422, form=form, errors={"role": refused})
    try:
        with transaction() as conn:
            key, plaintext = keys.create_key(conn, name, role, user_id=user().id)
    except Problem as exc:
        message = getattr(exc, "errors", [{"message": exc.detail}])[0]["message"]
        with transaction() as conn:
            return _keys_page(conn, 422, form=form, errors={"name": field_message(message)})
    with transaction() as conn:
        # Shown once, in this response only: never stored, never put in the session cookie.
        return _keys_page(conn, 201, new_key=key, plaintext=plaintext)


@bp.post("/keys/<int:key_id>/revoke")
@require("viewer")
def revoke_key(key_id: int) -> Response:
    with transaction() as conn:
        key = keys.get_key(conn, key_id)
        if key is None:
            raise NotFound("No such API key.")
        if key.user_id != user().id and not user().allows("admin"):
            raise Forbidden("This key belongs to another account.")
        if key.revoked_at is None:
            keys.revoke_key(conn, key.name)
    flash(_("Key “%(name)s” revoked.", name=key.name), "success")
    return redirect(url_for("dashboard.keys_page"))
