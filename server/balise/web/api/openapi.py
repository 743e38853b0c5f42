"""The OpenAPI document: spectree's, completed with what every operation shares.

Views declare their own answers (their success, and errors only they give: 409, 501...).
What the blueprint does for all of them is added here, from each operation's traits, so the
document says every status and media type an operation can answer:

- every error is application/problem+json (ProblemOut), never application/json;
- an operation with a key role can answer 401 and 429 (failed authentications are limited per
  address on every API route, so public ones can answer 429 too), and 403 when it needs more
  than a viewer key;
- one that takes a body (POST, PUT, PATCH) can answer 400 (not JSON), 413 (too large), 415
  (not application/json) and 422;
- one with query parameters 422, one with a path parameter 404;
- any can answer 500 and 503 (the database is unreachable).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/ProblemOut"}
BODY_METHODS = {"post", "put", "patch"}

DESCRIPTIONS = {
    "304": "Not modified: the ETag sent in If-None-Match still matches.",
    "400": "Bad request: the body is not valid JSON, or a parameter is malformed.",
    "401": "No API key, or an unknown or revoked one.",
    "403": "This API key's role does not allow the operation.",
    "404": "Not found.",
    "409": "Conflict with what is stored.",
    "413": "The request body is larger than BALISE_MAX_BODY_BYTES.",
    "415": "The request body is not application/json.",
    "422": "Invalid values: `errors` names each field and what is wrong with it.",
    "429": "Too many requests; Retry-After says when to try again.",
    "500": "Unexpected server error.",
    "501": "Not set up on this server.",
    "502": "The page or the language model could not be reached or answered badly.",
    "503": "The database is unreachable; retry later.",
}


@dataclass(frozen=True)
class Traits:
    """What a view declares beyond its schemas: the least key role (None: public), the media
    type (or types) of its successes when not JSON, and the statuses its own Response names."""

    role: str | None = None
    media_type: str | tuple[str, ...] | None = None
    declared: frozenset[str] = frozenset()


def shared_statuses(method: str, operation: Mapping[str, Any], role: str | None) -> list[str]:
    """The error statuses Balise's blueprint can give this operation, whatever its view does."""
    statuses = ["429", "500", "503"]
    if role is not None:
        statuses += ["401"] + (["403"] if role != "viewer" else [])
    if method in BODY_METHODS:
        statuses += ["400", "413", "415", "422"]
    places = {p.get("in") for p in operation.get("parameters", [])}
    if "query" in places:
        statuses.append("422")
    if "path" in places:
        statuses.append("404")
    return statuses


HEADERS = {
    "401": {
        "WWW-Authenticate": {
            "required": True,
            "description": 'Bearer realm="balise"',
            "schema": {"type": "string"},
        }
    },
    "429": {
        "Retry-After": {
            "description": "Seconds before a request may succeed.",
            "schema": {"type": "string"},
        }
    },
}


def _problem(status: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": DESCRIPTIONS.get(status, "Error."),
        "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
    }
    if status in HEADERS:
        answer["headers"] = HEADERS[status]
    return answer


def _complete(method: str, operation: dict[str, Any], traits: Traits) -> None:
    shared = shared_statuses(method, operation, traits.role)
    responses: dict[str, Any] = {}
    for status, answer in operation["responses"].items():
        if status not in traits.declared and status not in shared:
            continue  # spectree adds a 422 to every operation, even those without input
        if int(status) >= 400:
            answer = _problem(status)
        elif traits.media_type and 200 <= int(status) < 300 and status != "204":
            types = (
                (traits.media_type,) if isinstance(traits.media_type, str) else traits.media_type
            )
            answer["content"] = {kind: {"schema": {"type": "string"}} for kind in types}
        responses[status] = answer
    for status in shared:
        responses.setdefault(status, _problem(status))
    operation["responses"] = dict(sorted(responses.items()))
    if traits.role is not None:
        needs = f"Needs a {traits.role} key (or a higher role)."
        operation["description"] = f"{operation.get('description', '')}\n\n{needs}".strip()


def _body_required(operation: dict[str, Any], schemas: Mapping[str, Any]) -> None:
    """A missing body counts as {} (spectree), so only a schema with required fields needs one."""
    body = operation.get("requestBody")
    if body is None:
        return
    ref = body["content"]["application/json"]["schema"].get("$ref", "")
    body["required"] = bool(schemas.get(ref.rsplit("/", 1)[-1], {}).get("required"))


def complete(document: Mapping[str, Any], traits: Mapping[str, Traits]) -> dict[str, Any]:
    """A completed copy of spectree's `document`; `traits` are keyed by operationId."""
    done = copy.deepcopy(dict(document))
    for operations in done["paths"].values():
        for method, operation in operations.items():
            _complete(method, operation, traits.get(operation["operationId"], Traits()))
            _body_required(operation, done["components"]["schemas"])
    return done
