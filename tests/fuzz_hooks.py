"""Schemathesis hooks for tests/test_api_fuzz.py (loaded by the `schemathesis` command).

Before every call, in every phase: link targets and webhook URLs the fuzzer drew are moved to
the stub server named by FUZZ_STUB_ORIGIN (path and query kept), so neither drafts nor webhook
deliveries ever reach outside this machine; and key revocation never names the keys of the
run, FUZZ_KEPT_KEYS (the fuzzer learns key names from GET /api/v1/keys): it revokes keys the
fuzzer created.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

import schemathesis

# Bodies whose "url" Balise would fetch or send to: link targets (drafts) and webhook endpoints.
URL_BODIES = {
    ("POST", "/api/v1/links"),
    ("PATCH", "/api/v1/links/{slug}"),
    ("POST", "/api/v1/webhooks"),
    ("PATCH", "/api/v1/webhooks/{webhook_id}"),
}
REVOKE = ("DELETE", "/api/v1/keys/{name}")
HTTP_URL = re.compile(r"\s*https?://", re.IGNORECASE)


def kept_keys() -> list[str]:
    return os.environ["FUZZ_KEPT_KEYS"].split(",")


def local_target(url: str, origin: str) -> str:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url  # Balise refuses it too: no link will point there
    query = f"?{parts.query}" if parts.query else ""
    return f"{origin}{parts.path or '/'}{query}"


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    operation = (case.operation.method.upper(), case.operation.path)
    if operation == REVOKE and case.path_parameters.get("name") in kept_keys():
        case.path_parameters["name"] += "-kept"
    if operation in URL_BODIES and isinstance(case.body, dict):
        url = case.body.get("url")
        if isinstance(url, str) and HTTP_URL.match(url):
            case.body["url"] = local_target(url, os.environ["FUZZ_STUB_ORIGIN"])
