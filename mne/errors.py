"""Domain errors and the one JSON shape every API error takes.

Services raise these; `mne.app` turns them into `{"error": {"code", "message", "details"}}`
for the API and an error page for HTML.
"""

from __future__ import annotations

from typing import Any


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
