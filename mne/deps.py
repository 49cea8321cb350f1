"""Named dependencies: the database session, the caller, and the permission each route needs.

Every route declares exactly one permission dependency (`Public`, `SignedIn`, `Reviewer`,
`Admin`, …). A test walks the app's routes and fails on any route that declares none.

Many requests arrive at once, so one rule keeps the event loop free (tests/test_concurrency.py
holds it to account): **whatever touches the database, hashes a password or reads files is a
plain `def`** — FastAPI runs those in its threadpool. An `async def` here (or in a route, a
handler or a middleware) only awaits: the request body, a turn at the database. A blocking call
inside one stalls every request of the worker, and one that waits on a lock held by another
request's transaction never wakes, because that transaction needs the event loop to commit.

A request reaches the database only after taking a turn (`database_turn`): one of the worker's
`db_pool_size` turns, each with its own pooled connection. Waiting for a turn holds neither a
thread nor a connection; a request that waits longer than `db_timeout` gets 503.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated

import anyio
from fastapi import Depends, Path, Query, Request
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from mne.auth import sessions
from mne.auth.principal import Principal
from mne.base import Id, Role
from mne.db import READ, WRITE
from mne.unit_of_work import session_scope
from mne.errors import Forbidden, Unauthorized, Unavailable
from mne.users import service as users
from mne.users.models import User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


@asynccontextmanager
async def turn(request: Request, gate: anyio.Semaphore, busy: str) -> AsyncIterator[None]:
    """Hold one of ``gate``'s turns, waited for without a thread; 503 saying ``busy`` after `db_timeout`."""
    timeout = request.app.state.settings.db_timeout
    with anyio.move_on_after(timeout) as waited:
        await gate.acquire()
    if waited.cancelled_caught:
        raise Unavailable(f"{busy} within {timeout:g} s; try again in a moment")
    try:
        yield
    finally:
        gate.release()


async def database_turn(request: Request) -> AsyncIterator[None]:
    """Wait for one of the worker's database turns."""
    async with turn(request, request.app.state.db_turns, "the server is busy: no database connection was free"):
        yield


def get_session(request: Request, _turn: Annotated[None, Depends(database_turn, scope="function")]
                ) -> Iterator[Session]:
    """One session per request, committed when the route returns without error. Its transaction
    is read-only for GET/HEAD/OPTIONS and a writer's (SQLite: BEGIN IMMEDIATE) otherwise."""
    engine = request.app.state.engine
    access = READ if request.method in SAFE_METHODS else WRITE
    try:
        with session_scope(engine, access) as session:
            yield session
    finally:
        record_bookkeeping(request, engine)


def record_bookkeeping(request: Request, bind: Engine | Connection) -> None:
    """What a request notes apart from its own transaction, once that has ended: the last use
    of its API token, which must not turn every read into a write of one shared row."""
    used = getattr(request.state, "token_used", None)
    if used is not None:
        users.record_token_use(bind, *used)


# scope="function": commit before the response is sent, so a redirect never races its own write
# and a failed commit is an error response, not a success the client already received.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _principal(session: Session, user: User, via: str, csrf: str | None) -> Principal:
    countries, donors = users.user_scopes(session, user)
    return Principal(
        id=user.id, email=user.email, name=user.name, role=Role(user.role),
        countries=frozenset(countries), donors=frozenset(donors), via=via, csrf_token=csrf,
    )


def resolve_principal(request: Request, session: SessionDep) -> Principal | None:
    """The caller from a bearer token (API clients) or the session cookie (browsers).
    It reads the database, so it is a plain `def`; it writes nothing."""
    principal = None
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, secret = auth.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        found = users.find_token(session, secret.strip())
        if found is None:
            raise Unauthorized("the API token is not valid (unknown, revoked, expired, or its user is inactive)")
        token, user = found
        request.state.token_used = (token.id, token.last_used_at)
        principal = _principal(session, user, "token", None)
    elif request.url.path.startswith("/api/"):
        raise Unauthorized("an API token is required: send 'Authorization: Bearer <token>'")
    elif cookie := request.cookies.get(sessions.COOKIE_NAME):
        found = sessions.lookup(session, cookie)
        if found is not None:
            user_session, user = found
            principal = _principal(session, user, "session", user_session.csrf_token)
    request.state.principal = principal
    return principal


async def _check_csrf(request: Request, expected: str) -> None:
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        supplied = (await request.form()).get(CSRF_FIELD)
    if not supplied or not hmac.compare_digest(str(supplied), expected):
        raise Forbidden("the form has expired or did not come from this site; reload and try again",
                        code="csrf")


async def get_principal(
    request: Request, principal: Annotated[Principal | None, Depends(resolve_principal)]
) -> Principal | None:
    """The caller, once cookie-authenticated writes have proved they come from our own pages
    (async: it awaits the form, and touches nothing else)."""
    if principal is not None and principal.via == "session" and request.method not in SAFE_METHODS:
        await _check_csrf(request, principal.csrf_token or "")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(get_principal)]


def permission(name: str, check: Callable[[Principal], bool] | None = None, *, public: bool = False):
    """Build a route dependency that admits callers passing `check` and marks the route."""

    async def dependency(principal: OptionalPrincipal) -> Principal | None:  # no I/O: async is right
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


async def _anyone() -> None:
    """Open to anyone without even asking who calls: no database turn (for /healthz)."""


_anyone.__mne_permission__ = "public"

# Annotated forms for route signatures: declaring one both admits and marks the route.
Public = Annotated[Principal | None, Depends(public)]
Anyone = Annotated[None, Depends(_anyone)]
CurrentUser = Annotated[Principal, Depends(signed_in)]
ReviewerUser = Annotated[Principal, Depends(reviewer)]
AdminUser = Annotated[Principal, Depends(admin)]
EditorUser = Annotated[Principal, Depends(editor)]


# --- integers from the address ------------------------------------------------------------
# Python's integers have no bound, the databases' do (SQLite refuses past 2**63 - 1 before the
# query runs; PostgreSQL's INTEGER columns stop at 2**31 - 1): every id and paging number a
# route takes is bounded here, once, so an out-of-range one is a 422 naming it, never a 500.

INT_MAX = 2**31 - 1  # PostgreSQL's INTEGER; page × page size stays far inside a 64-bit OFFSET

PathId = Annotated[Id, Path(description="a database id (1 to 2^31 - 1); an unknown one is 404")]
PageNumber = Annotated[int, Query(ge=1, le=INT_MAX, description="1 for the first page")]
Offset = Annotated[int, Query(ge=0, le=INT_MAX, description="skip this many items")]
