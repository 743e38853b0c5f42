"""Dashboard webhook pages (editors and admins): endpoints, their secret (shown once), a test
event, and the delivery log with redelivery by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import Connection
from werkzeug.wrappers import Response

from balise.errors import NotFound, ValidationFailed
from balise.integrations import deliveries, outbox, webhooks
from balise.web.context import state, transaction
from balise.web.dashboard.blueprint import bp, render, require
from balise.web.dashboard.i18n import field_message

LOG_SIZE = 50


def find(conn: Connection, webhook_id: int) -> webhooks.Endpoint:
    endpoint = webhooks.get_endpoint(conn, webhook_id)
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {webhook_id}.")
    return endpoint


def _form() -> dict[str, Any]:
    return {
        "url": request.form.get("url", "").strip(),
        "description": request.form.get("description", "").strip() or None,
        "events": [e for e in request.form.getlist("events") if e in webhooks.EVENT_TYPES],
    }


def _errors(exc: ValidationFailed) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors:
        name = error["field"]
        if name == "url":
            public = "public addresses" in error["message"]
            errors[name] = (
                _("This address is private or local; webhooks only go to public addresses")
                if public
                else _("Enter a full http:// or https:// URL")
            )
        elif name == "events":
            errors[name] = _("Choose at least one event")
        else:
            errors[name] = field_message(error["message"])
    return errors


def _settings() -> dict[str, Any]:
    return state().settings


def _list_page(status: int = 200, **context: Any) -> Any:
    with transaction() as conn:
        endpoints = webhooks.list_endpoints(conn)
    context.setdefault("errors", {})
    context.setdefault("form", {"url": "", "description": "", "events": []})
    return render(
        "webhooks.html", status, endpoints=endpoints, event_types=webhooks.EVENT_TYPES, **context
    )


@bp.get("/webhooks")
@require("editor")
def webhooks_page() -> Any:
    return _list_page()


@bp.post("/webhooks")
@require("editor")
def create_webhook() -> Any:
    form = _form()
    allow = bool(_settings()["FETCH_ALLOW_PRIVATE"])
    try:
        with transaction() as conn:
            endpoint = webhooks.create_endpoint(conn, form, allow_private=allow)
    except ValidationFailed as exc:
        return _list_page(422, form=form, errors=_errors(exc))
    # Shown once, in this response only: never stored elsewhere, never put in the session.
    return _list_page(201, new_endpoint=endpoint, secret=endpoint.secret)


def _endpoint_page(webhook_id: int, status: int = 200, **context: Any) -> Any:
    before = request.args.get("before", type=int)
    with transaction() as conn:
        endpoint = find(conn, webhook_id)
        log = deliveries.list_deliveries(conn, endpoint, limit=LOG_SIZE + 1, before=before)
    context.setdefault("errors", {})
    context.setdefault(
        "form",
        {"url": endpoint.url, "description": endpoint.description or "", "events": endpoint.events},
    )
    return render(
        "webhook.html",
        status,
        endpoint=endpoint,
        log=log[:LOG_SIZE],
        older=log[LOG_SIZE - 1].id if len(log) > LOG_SIZE else None,
        event_types=webhooks.EVENT_TYPES,
        grace_hours=_settings()["WEBHOOK_SECRET_GRACE_HOURS"],
        **context,
    )


@bp.get("/webhooks/<int:webhook_id>")
@require("editor")
def webhook_page(webhook_id: int) -> Any:
    return _endpoint_page(webhook_id)


@bp.post("/webhooks/<int:webhook_id>")
@require("editor")
def save_webhook(webhook_id: int) -> Any:
    form = _form()
    changes = form | {"enabled": request.form.get("enabled") == "1"}
    allow = bool(_settings()["FETCH_ALLOW_PRIVATE"])
    try:
        with transaction() as conn:
            webhooks.update_endpoint(conn, find(conn, webhook_id), changes, allow_private=allow)
    except ValidationFailed as exc:
        return _endpoint_page(webhook_id, 422, form=form, errors=_errors(exc))
    state().services["webhooks"].wake()
    flash(_("Endpoint saved."), "success")
    return redirect(url_for("dashboard.webhook_page", webhook_id=webhook_id))


@bp.post("/webhooks/<int:webhook_id>/test")
@require("editor")
def test_webhook(webhook_id: int) -> Response:
    with transaction() as conn:
        outbox.send_test(conn, find(conn, webhook_id))
    state().services["webhooks"].wake()
    flash(_("Test event sent; its delivery shows in the log."), "success")
    return redirect(url_for("dashboard.webhook_page", webhook_id=webhook_id))


@bp.post("/webhooks/<int:webhook_id>/rotate")
@require("editor")
def rotate_webhook(webhook_id: int) -> Any:
    grace = timedelta(hours=float(_settings()["WEBHOOK_SECRET_GRACE_HOURS"]))
    with transaction() as conn:
        endpoint = webhooks.rotate_secret(conn, find(conn, webhook_id), grace=grace)
    return _endpoint_page(webhook_id, secret=endpoint.secret)


@bp.post("/webhooks/<int:webhook_id>/delete")
@require("editor")
def delete_webhook(webhook_id: int) -> Response:
    with transaction() as conn:
        webhooks.delete_endpoint(conn, find(conn, webhook_id))
    flash(_("Endpoint deleted."), "success")
    return redirect(url_for("dashboard.webhooks_page"))


@bp.post("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
@require("editor")
def redeliver(webhook_id: int, delivery_id: int) -> Response:
    with transaction() as conn:
        delivery = deliveries.get_delivery(conn, find(conn, webhook_id), delivery_id)
        if delivery is None:
            raise NotFound(f"No delivery {delivery_id}.")
        deliveries.redeliver(conn, delivery, datetime.now(timezone.utc))
    state().services["webhooks"].wake()
    flash(_("The event will be sent again in a moment."), "success")
    return redirect(url_for("dashboard.webhook_page", webhook_id=webhook_id))
