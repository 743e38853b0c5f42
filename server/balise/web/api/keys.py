"""API keys API (admin): list, create (the secret is shown once), revoke."""

from typing import Any

from flask import g
from spectree import Response

from balise.accounts import keys
from balise.web.api.blueprint import bp, require, spec
from balise.web.api.schemas import KeyCreate, KeyCreated, KeyList, KeyOut, ProblemOut
from balise.web.context import transaction

TAGS = ["keys"]
ERRORS = {f"HTTP_{code}": ProblemOut for code in (401, 403, 429)}


def key_out(key: keys.ApiKey) -> dict[str, Any]:
    return {
        "name": key.name,
        "role": key.role,
        "prefix": key.prefix,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
    }


@bp.get("/keys")
@spec.validate(resp=Response(HTTP_200=KeyList, **ERRORS), tags=TAGS, security={"bearer": []})
@require("admin")
def list_keys() -> dict[str, Any]:
    """Every API key, live or revoked (never its secret)."""
    with transaction() as conn:
        return {"items": [key_out(k) for k in keys.list_keys(conn)]}


@bp.post("/keys")
@spec.validate(
    json=KeyCreate,
    resp=Response(HTTP_201=KeyCreated, HTTP_409=ProblemOut, HTTP_422=ProblemOut, **ERRORS),
    tags=TAGS,
    security={"bearer": []},
)
@require("admin")
def create_key(json: KeyCreate) -> tuple[dict[str, Any], int]:
    """Create a key; `key` in the answer is the only time its secret is shown."""
    with transaction() as conn:
        key, plaintext = keys.create_key(conn, json.name, json.role, user_id=g.api_key.user_id)
    return key_out(key) | {"key": plaintext}, 201


@bp.delete("/keys/<name>")
@spec.validate(
    resp=Response(HTTP_200=KeyOut, HTTP_404=ProblemOut, HTTP_409=ProblemOut, **ERRORS),
    tags=TAGS,
    security={"bearer": []},
)
@require("admin")
def revoke_key(name: str) -> dict[str, Any]:
    """Revoke a key: requests carrying it answer 401 from now on. 409 when it is the last
    admin credential (live admin key or enabled admin account)."""
    with transaction() as conn:
        return key_out(keys.revoke_key(conn, name))
