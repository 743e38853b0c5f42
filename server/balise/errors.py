"""Domain errors: each carries an HTTP status, a stable problem `type` and a human detail.

web/errors.py renders them as application/problem+json (RFC 9457) for API clients and as a
localised page for browsers. Domain modules raise them; they never build responses.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://balise.invalid/problems/"


class Problem(Exception):
    """Base of every error Balise reports to a client."""

    status = 500
    type = "internal-error"
    title = "Internal server error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        body.update(self.extra)
        return body


class BadRequest(Problem):
    status, type, title = 400, "bad-request", "Bad request"


class Unauthorized(Problem):
    status, type, title = 401, "unauthorized", "Authentication required"


class Forbidden(Problem):
    status, type, title = 403, "forbidden", "Not allowed"


class NotFound(Problem):
    status, type, title = 404, "not-found", "Not found"


class MethodNotAllowed(Problem):
    status, type, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(Problem):
    status, type, title = 409, "conflict", "Conflict"


class SlugTaken(Conflict):
    type, title = "slug-taken", "Slug already taken"


class Gone(Problem):
    status, type, title = 410, "gone", "Link no longer available"


class PayloadTooLarge(Problem):
    status, type, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(Problem):
    status, type, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationFailed(Problem):
    """422 with per-field errors: {"errors": [{"field": "url", "message": "..."}]}."""

    status, type, title = 422, "validation-error", "Invalid request"

    def __init__(self, errors: list[dict[str, str]], detail: str | None = None) -> None:
        summary = detail or "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        super().__init__(summary, errors=errors)
        self.errors = errors

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls([{"field": field, "message": message}])


class TooManyRequests(Problem):
    status, type, title = 429, "rate-limited", "Too many requests"


class BadGateway(Problem):
    status, type, title = 502, "bad-gateway", "Upstream failure"


class ServiceUnavailable(Problem):
    status, type, title = 503, "unavailable", "Service unavailable"


def type_for_status(status: int) -> str | None:
    """The stable problem type Balise uses for an HTTP status, when it has one."""
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        Gone,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationFailed,
        TooManyRequests,
        BadGateway,
        ServiceUnavailable,
    ):
        if cls.status == status:
            return cls.type
    return None
