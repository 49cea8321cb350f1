"""Sign-in, sign-out and change of password (HTML)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import select

from mne.auth import sessions
from mne.base import Role, utcnow
from mne.deps import CurrentUser, Public, SessionDep
from mne.errors import Forbidden, Invalid, TooManyRequests
from mne.forms import field_errors, safe_next
from mne.users import security
from mne.users import service as users
from mne.users.models import User
from mne.web import home_path, path_for, render

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "mne_login_csrf"
WRONG_CREDENTIALS = "Wrong email or password."


def _client_ip(request: Request) -> str:
    """The address the sign-in throttle counts. `mne serve` rewrites the peer from
    X-Forwarded-For only when the peer is one of MNE_TRUSTED_PROXIES (then the right-most
    address that is not a trusted proxy is the client), so a client cannot pick its own."""
    host = request.client.host if request.client else ""
    return host[:64] or "unknown"  # the column's width; a proxy could pass anything on


def _login_form(request: Request, *, next_url: str, email: str = "", error: str = "", status_code: int = 200):
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "auth/login.html",
                      {"next": next_url, "email": email, "error": error, "login_csrf": token},
                      status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.app.state.settings.secure_cookies, path=path_for(request, "login"))
    return response


def _next_or_empty(target: str) -> str:
    """The page asked for (only a local path), or "" when none was: then each role has its home."""
    return safe_next(target) if target.strip() else ""


@router.get("/login", name="login")
def login_page(request: Request, _: Public, next: str = ""):
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        return RedirectResponse(_next_or_empty(next) or home_path(request, principal.role), status_code=303)
    return _login_form(request, next_url=_next_or_empty(next))


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    _: Public,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
):
    next_url = _next_or_empty(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or not secrets.compare_digest(expected, csrf_token):
        raise Forbidden("the sign-in form has expired; reload the page and try again", code="csrf")
    email = email.strip().lower()
    ip = _client_ip(request)
    wait = sessions.seconds_blocked(session, email, ip)
    if wait:
        raise TooManyRequests(f"Too many failed sign-ins. Try again in {wait // 60 + 1} minutes.",
                              retry_after=wait)
    user = session.exec(select(User).where(User.email == email)).first()
    # End the reading transaction before Argon2 works (≈0.3 s by design), so that no lock and
    # no connection is held meanwhile: SQLite's writers would queue behind every sign-in.
    session.commit()
    # Verify against a dummy hash for unknown accounts so timing does not reveal them.
    valid = security.verify_password(user.password_hash if user else security.DUMMY_HASH, password)
    if not (user and valid and user.is_active):
        sessions.record_failure(session, email, ip)
        session.commit()
        return _login_form(request, next_url=next_url, email=email, error=WRONG_CREDENTIALS, status_code=401)
    sessions.clear_failures(session, email)
    old = request.cookies.get(sessions.COOKIE_NAME)
    if old:
        sessions.end(session, old)
    cookie, _row = sessions.start(session, user, request.app.state.settings.session_hours)
    user.last_login_at = utcnow()
    session.add(user)
    sessions.purge_expired(session)
    response = RedirectResponse(next_url or home_path(request, Role(user.role)), status_code=303)
    _set_session_cookie(request, response, cookie)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=path_for(request, "login"))
    return response


def _set_session_cookie(request: Request, response, cookie: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(sessions.COOKIE_NAME, cookie, httponly=True, samesite="lax",
                        secure=settings.secure_cookies, max_age=settings.session_hours * 3600, path="/")


@router.post("/logout", name="logout")
def logout(request: Request, session: SessionDep, _: CurrentUser):
    cookie = request.cookies.get(sessions.COOKIE_NAME)
    if cookie:
        sessions.end(session, cookie)
    response = RedirectResponse(path_for(request, "login"), status_code=303)
    response.delete_cookie(sessions.COOKIE_NAME, path="/")
    return response


@router.get("/account/password", name="password_page")
def password_page(request: Request, _: CurrentUser, done: bool = False):
    return render(request, "auth/password.html", {"errors": {}, "done": done})


@router.post("/account/password")
def change_password(
    request: Request,
    session: SessionDep,
    principal: CurrentUser,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
):
    user = session.get(User, principal.id)
    session.commit()  # as at sign-in: hash with no transaction open (set_password hashes first)
    errors: dict[str, str] = {}
    if not security.verify_password(user.password_hash, current_password):
        errors["current_password"] = "This is not your current password."
    elif new_password != confirm_password:
        errors["confirm_password"] = "The two new passwords differ."
    else:
        try:
            users.set_password(session, user, new_password, actor_id=principal.id)
        except Invalid as exc:
            errors["new_password"] = field_errors(exc)["password"]  # the service names it "password"
    if errors:
        return render(request, "auth/password.html", {"errors": errors, "done": False}, status_code=422)
    # Other browsers signed in with the old password are signed out.
    sessions.end_all_for(session, user.id)
    new_cookie, _row = sessions.start(session, user, request.app.state.settings.session_hours)
    response = RedirectResponse(f"{path_for(request, 'password_page')}?done=1", status_code=303)
    _set_session_cookie(request, response, new_cookie)
    return response
