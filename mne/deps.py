"""Named dependencies: the database session, the caller, and the permission each route needs.

Every route declares exactly one permission dependency (`Public`, `SignedIn`, `Reviewer`,
`Admin`, …). A test walks the app's routes and fails on any route that declares none.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from mne.auth import sessions
from mne.auth.principal import Principal
from mne.base import Role
from mne.db import get_engine, session_scope
from mne.errors import Forbidden, Unauthorized
from mne.users import service as users
from mne.users.models import User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the route returns without error."""
    with session_scope(getattr(request.app.state, "engine", None) or get_engine()) as session:
        yield session


# scope="function": commit before the response is sent, so a redirect never races its own write
# and a failed commit is an error response, not a success the client already received.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _principal(session: Session, user: User, via: str, csrf: str | None) -> Principal:
    countries, donors = users.user_scopes(session, user)
    return Principal(
        id=user.id, email=user.email, name=user.name, role=Role(user.role),
        countries=frozenset(countries), donors=frozenset(donors), via=via, csrf_token=csrf,
    )


async def _check_csrf(request: Request, expected: str) -> None:
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        supplied = (await request.form()).get(CSRF_FIELD)
    if not supplied or not hmac.compare_digest(str(supplied), expected):
        raise Forbidden("the form has expired or did not come from this site; reload and try again",
                        code="csrf")


async def get_principal(request: Request, session: SessionDep) -> Principal | None:
    """The caller from a bearer token (API clients) or the session cookie (browsers)."""
    if hasattr(request.state, "principal"):  # resolved once per request
        return request.state.principal
    principal = None
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, secret = auth.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        user = users.user_for_token(session, secret.strip())
        if user is None:
            raise Unauthorized("the API token is not valid (unknown, revoked, or its user is inactive)")
        principal = _principal(session, user, "token", None)
    elif request.url.path.startswith("/api/"):
        raise Unauthorized("an API token is required: send 'Authorization: Bearer <token>'")
    elif cookie := request.cookies.get(sessions.COOKIE_NAME):
        found = sessions.lookup(session, cookie)
        if found is not None:
            user_session, user = found
            principal = _principal(session, user, "session", user_session.csrf_token)
            # Cookie-authenticated writes must prove they come from our own pages.
            if request.method not in SAFE_METHODS:
                await _check_csrf(request, user_session.csrf_token)
    request.state.principal = principal
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(get_principal)]


def permission(name: str, check: Callable[[Principal], bool] | None = None, *, public: bool = False):
    """Build a route dependency that admits callers passing `check` and marks the route."""

    async def dependency(principal: OptionalPrincipal) -> Principal | None:
        if public:
            return principal
        if principal is None:
            raise Unauthorized("sign in first")
        if check is not None and not check(principal):
            raise Forbidden(f"this needs the {name} permission, which a {principal.role} does not have")
        return principal

    dependency.__mne_permission__ = name  # read by the route-walking test
    dependency.__name__ = f"permission_{name}"
    return dependency


public = permission("public", public=True)
signed_in = permission("signed_in")
reviewer = permission("review", lambda p: p.can_review)
admin = permission("admin", lambda p: p.is_admin)
editor = permission("edit", lambda p: p.role == Role.country_officer)

# Annotated forms for route signatures: declaring one both admits and marks the route.
Public = Annotated[Principal | None, Depends(public)]
CurrentUser = Annotated[Principal, Depends(signed_in)]
ReviewerUser = Annotated[Principal, Depends(reviewer)]
AdminUser = Annotated[Principal, Depends(admin)]
EditorUser = Annotated[Principal, Depends(editor)]
