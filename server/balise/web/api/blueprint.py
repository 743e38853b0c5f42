"""The /api/v1 blueprint: JSON body checks, bearer-key auth, rate limits, the OpenAPI document.

Resource endpoints live in the resource modules (links.py, keys.py...) and register on `bp`
with `operation(...)`: their schemas, answers and role, in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from functools import cache
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, request
from flask_limiter.util import get_remote_address
from spectree import Response as Answers
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import SecureType
from spectree.utils import parse_code
from werkzeug.exceptions import HTTPException

from balise.accounts import keys
from balise.errors import (
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from balise.web.api import openapi
from balise.web.api.schemas import ProblemOut
from balise.web.api.schemas.webhooks import openapi_webhooks
from balise.web.context import transaction

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _validation_hook(req: Any, resp: Any, err: Any, instance: Any, adapter: Any = None) -> None:
    """Turn spectree's validation errors into Balise's 422 problem with per-field errors."""
    if err is None:
        return
    errors = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p not in ("body",)) or "body",
            "message": e.get("msg", "is invalid"),
        }
        for e in err.errors()
    ]
    raise ValidationFailed(errors)


spec = SpecTree(
    "flask",
    title="Balise API",
    version="1",
    description="Short links with article summaries. Errors are application/problem+json.",
    path="_spectree",  # spectree's own doc routes are not registered; see openapi_document() below
    page_templates={},
    mode="strict",
    before=_validation_hook,
    validation_error_model=ProblemOut,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda parent, child: child,
    security_schemes=[
        SecurityScheme(
            name="bearer", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer")
        )
    ],
)

BODY_METHODS = {"POST", "PUT", "PATCH"}


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _authenticate() -> keys.ApiKey:
    token = _bearer()
    if token is None:
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
    with transaction() as conn:
        key = keys.authenticate(conn, token)
        if key is not None:
            keys.touch(conn, key, datetime.now(timezone.utc))
    if key is None:
        g.auth_failed = True
        raise Unauthorized("This API key is unknown or has been revoked.")
    return key


ROLES_BY_ENDPOINT: dict[str, str] = {}
TRAITS: dict[str, openapi.Traits] = {}


def operation(
    role: str | None,
    *,
    resp: Answers,
    tags: list[str],
    media_type: str | tuple[str, ...] | None = None,
    **schemas: Any,
) -> Callable[[F], F]:
    """Declare an API view: the least key role it needs (None: public; checked before the body
    is validated), its request schemas (json=, query=) and the answers only it gives.

    The answers every operation shares (401, 422, 429...) are added to the OpenAPI document
    by openapi.complete; `media_type` names a success body that is not JSON (text/csv), or a
    tuple of them.
    """

    def decorate(view: F) -> F:
        name = view.__name__
        if role is not None:
            ROLES_BY_ENDPOINT[f"{bp.name}.{name}"] = role
        resp.bind_model_adapter(spec.model_adapter)  # before spectree adds its 422 to every one
        declared = frozenset(parse_code(code) for code in [*resp.codes, *resp.code_models])
        TRAITS[name] = openapi.Traits(role, media_type, declared)
        security: dict[str, list[str]] | None = {"bearer": []} if role is not None else None
        validate = spec.validate(
            resp=resp, tags=tags, security=security, operation_id=name, **schemas
        )
        return validate(view)  # type: ignore[no-any-return]

    return decorate


BODY_LIMITS: dict[str, int] = {}


def max_body(size: int) -> Callable[[F], F]:
    """Declare a smaller body limit for a view than BALISE_MAX_BODY_BYTES (413 beyond)."""

    def decorate(view: F) -> F:
        BODY_LIMITS[f"{bp.name}.{view.__name__}"] = size
        return view

    return decorate


@bp.before_request
def check_api_key() -> None:
    role = ROLES_BY_ENDPOINT.get(request.endpoint or "")
    if role is None:
        return
    key = _authenticate()
    if not key.allows(role):
        raise Forbidden(f"This API key's role ({key.role}) cannot do this; {role} is needed.")
    g.api_key = key


@bp.before_request
def check_json_body() -> None:
    """413 beyond the view's body limit, 415 when a body is not JSON, 400 when it does not
    parse; before any validation."""
    if request.method not in BODY_METHODS:
        return
    limit = BODY_LIMITS.get(request.endpoint or "")
    if limit is not None:
        request.max_content_length = limit  # Werkzeug stops reading there, chunked bodies too
    has_body = bool(request.content_length) or "chunked" in request.headers.get(
        "Transfer-Encoding", ""
    )
    if not has_body:
        return
    if not request.is_json:
        raise UnsupportedMediaType("Send the request body as application/json.")
    try:
        request.get_json()
    except HTTPException as exc:
        if exc.code == 413 and limit is not None:
            raise PayloadTooLarge(
                f"This request's body may carry at most {limit:,} bytes."
            ) from None
        if exc.code == 413:
            raise
        raise BadRequest("The request body is not valid JSON.") from None


def key_or_address() -> str:
    key = g.get("api_key")
    return f"key:{key.id}" if key is not None else get_remote_address()


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document: spectree's, completed with the answers all operations share, and
    the events Balise sends as `webhooks`."""
    document = openapi.complete(spec.spec, TRAITS)
    webhooks, schemas = openapi_webhooks()
    document["webhooks"] = webhooks
    document["components"]["schemas"] = document["components"]["schemas"] | schemas
    return document


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document, generated from the models that validate requests, with the
    events Balise sends as `webhooks`."""
    response = jsonify(document())
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
