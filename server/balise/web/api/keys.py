"""API keys API (admin): list, create (the secret is shown once), revoke."""

from typing import Any

from flask import g
from spectree import Response

from balise import values
from balise.accounts import keys
from balise.errors import NotFound
from balise.web.api.blueprint import bp, operation
from balise.web.api.schemas import KeyCreate, KeyCreated, KeyList, KeyOut, ProblemOut
from balise.web.context import transaction

TAGS = ["keys"]


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
@operation("admin", resp=Response(HTTP_200=KeyList), tags=TAGS)
def list_keys() -> dict[str, Any]:
    """Every API key, live or revoked (never its secret)."""
    with transaction() as conn:
        return {"items": [key_out(k) for k in keys.list_keys(conn)]}


@bp.post("/keys")
@operation(
    "admin", json=KeyCreate, resp=Response(HTTP_201=KeyCreated, HTTP_409=ProblemOut), tags=TAGS
)
def create_key(json: KeyCreate) -> tuple[dict[str, Any], int]:
    """Create a key; `key` in the answer is the only time its secret is shown."""
    with transaction() as conn:
        key, plaintext = keys.create_key(conn, json.name, json.role, user_id=g.api_key.user_id)
    return key_out(key) | {"key": plaintext}, 201


@bp.delete("/keys/<name>")
@operation("admin", resp=Response(HTTP_200=KeyOut, HTTP_409=ProblemOut), tags=TAGS)
def revoke_key(name: str) -> dict[str, Any]:
    """Revoke a key: requests carrying it answer 401 from now on. 409 when it is the last
    admin credential (live admin key or enabled admin account)."""
    if values.text_problem(name) is not None:  # no key has such a name; PostgreSQL refuses NUL
        raise NotFound(f"No live API key named {name!r}.")
    with transaction() as conn:
        return key_out(keys.revoke_key(conn, name))
