"""Domain errors and the one JSON shape every API error takes.

Services raise these; `mne.app` turns them into `{"error": {"code", "message", "details"}}`
for the API and an error page for HTML.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details if details is not None else []
        if code:
            self.code = code


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Locked(Conflict):
    code = "locked"


class Invalid(DomainError):
    """Bad input. `details` lists `{"field": ..., "message": ...}`, one per problem."""

    status_code = 422
    code = "invalid"

    @classmethod
    def field(cls, field: str, message: str) -> "Invalid":
        return cls(f"{field}: {message}", details=[{"field": field, "message": message}])


class LengthRequired(DomainError):
    """An upload that does not say its size: it could not be refused before it is read."""

    status_code = 411
    code = "length_required"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "too_large"


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


class TooManyRequests(DomainError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """The database cannot take the request now (all connections busy, SQLite's write lock held
    too long, or the server unreachable). The client may retry after `retry_after` seconds."""

    status_code = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def envelope(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details if details is not None else []}}


# --- the envelope in the OpenAPI document -------------------------------------------------
# Every API route declares the errors it can answer, all in the envelope above, through
# `error_responses(...)`: on its router (what every route of it can answer) and on the route
# (what that one adds). A test walks the document and holds every operation to it.


class ErrorDetail(BaseModel):
    """One problem: the field it is about (dotted, e.g. `targets.KGZ.target`) and what is wrong.
    An import's rows add their `line`, `column` and `cell`."""

    model_config = ConfigDict(extra="allow")
    field: str | None = Field(default=None, description="the input the problem is about")
    message: str | None = None


class ErrorBody(BaseModel):
    code: str = Field(description="stable and machine-readable: invalid, not_found, conflict, locked, …")
    message: str = Field(description="in words, for people")
    details: list[ErrorDetail] = Field(description="one entry per problem (input errors); often empty")


class ErrorEnvelope(BaseModel):
    """The body of every error the API answers."""

    error: ErrorBody


ERROR_DESCRIPTIONS: dict[int, str] = {
    401: "no API token, or one that is unknown, revoked or expired (`Authorization: Bearer <token>`)",
    403: "the caller's role or countries do not allow this",
    404: "nothing with that id or code (or outside the caller's scope where that is not secret)",
    409: "the data changed or is locked (a stale `version`, a closed period, an approved result, "
         "a duplicate code): nothing was written",
    413: "the request body is over the size limit: nothing was read",
    422: "invalid input: `details` names each field and what is wrong with it; nothing was written",
    503: "the database is busy or unreachable: nothing was written; retry after `Retry-After` seconds",
}


def error_response(status: int, description: str | None = None) -> dict:
    """One `responses=` entry of FastAPI: the envelope, with what that status means here."""
    return {"model": ErrorEnvelope, "description": description or ERROR_DESCRIPTIONS[status]}


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """`responses=` for a router or a route: each status with the envelope and its usual meaning."""
    return {status: error_response(status) for status in statuses}
