"""Admin pages of users, and every user's own API tokens page (HTML)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from mne.audit import service as audit
from mne.auth.principal import Principal
from mne.base import Role
from mne.deps import AdminUser, CurrentUser, SessionDep
from mne.errors import Conflict, Forbidden, Invalid
from mne.forms import field_errors, parse_id
from mne.reference import service as reference
from mne.users import service as users
from mne.users.models import User
from mne.web import path_for, render

router = APIRouter(include_in_schema=False)

ROLE_LABELS = {
    Role.country_officer: "Country officer",
    Role.regional_reviewer: "Regional reviewer",
    Role.admin: "Admin",
    Role.donor_viewer: "Donor viewer",
}
STATES = {"active": True, "inactive": False}
LIST_LIMIT = 500
NOTICES = {
    "created": "The user has been created. Give them their initial password by a separate channel.",
    "saved": "Your changes have been saved.",
    "deactivated": "The user has been deactivated: signed out everywhere, and their API tokens stop working.",
    "reactivated": "The user has been reactivated: they can sign in again and their unrevoked tokens work again.",
    "token-revoked": "The API token has been revoked.",
}
FormStr = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]


def _choices(session: Session) -> dict:
    """Roles, countries grouped by subregion, and donors: what the user form offers."""
    countries = {c.iso3: c for c in reference.countries(session)}
    groups = [
        {"code": s.code, "name": s.name, "countries": [countries[i] for i in s.countries]}
        for s in reference.subregions(session) if s.countries
    ]
    return {"roles": ROLE_LABELS, "country_groups": groups, "donors": reference.donors(session)}


# --- list ---------------------------------------------------------------------------------

@router.get("/admin/users", name="admin_users")
def users_page(request: Request, session: SessionDep, _: AdminUser, q: str = "", role: str = "", state: str = ""):
    role = role if role in ROLE_LABELS else ""
    state = state if state in STATES else ""
    rows = users.list_users(session, email=q, role=role, active=STATES.get(state), limit=LIST_LIMIT)
    return render(request, "admin/users.html", {
        "users": rows, "scopes": users.scopes_of(session, [u.id for u in rows]), "limit": LIST_LIMIT,
        "q": q, "role": role, "state": state, "roles": ROLE_LABELS,
    }, block="results")


# --- create -------------------------------------------------------------------------------

def _new_user_form(request: Request, session: Session, form: dict, errors: dict, status_code: int = 200):
    return render(request, "admin/user_new.html", {**_choices(session), "form": form, "errors": errors},
                  status_code=status_code)


@router.get("/admin/users/new", name="admin_user_new")
def new_user_page(request: Request, session: SessionDep, _: AdminUser):
    form = {"email": "", "name": "", "role": "", "countries": [], "donors": []}
    return _new_user_form(request, session, form, {})


@router.post("/admin/users/new")
def create_user(
    request: Request,
    session: SessionDep,
    principal: AdminUser,
    email: FormStr = "",
    name: FormStr = "",
    role: FormStr = "",
    countries: FormList = [],  # noqa: B006 (FastAPI copies defaults)
    donors: FormList = [],  # noqa: B006
    password: FormStr = "",
):
    form = {"email": email, "name": name, "role": role, "countries": countries, "donors": donors}
    try:
        user = users.create_user(session, email=email, password=password, role=role, name=name,
                                 countries=countries, donors=donors, actor_id=principal.id)
    except (Invalid, Conflict) as exc:
        session.rollback()
        return _new_user_form(request, session, form, field_errors(exc), status_code=422)
    return _back_to_user(request, user, "created")


# --- edit, deactivate, tokens ---------------------------------------------------------------

def _user_page(request: Request, session: Session, user: User, *, form: dict | None = None,
               errors: dict | None = None, notice: str = "", status_code: int = 200):
    if form is None:
        countries, donors = users.user_scopes(session, user)
        form = {"name": user.name, "role": user.role, "countries": countries, "donors": donors}
    errors = dict(errors or {})
    status_error = errors.pop("is_active", "")
    return render(request, "admin/user.html", {
        **_choices(session), "user": user, "form": form, "errors": errors, "status_error": status_error,
        "notice": NOTICES.get(notice, ""), "tokens": users.tokens_of(session, user.id),
        "events": audit.history_of(session, {"user": [user.id]}, limit=20),
    }, status_code=status_code)


def _get_user(session: Session, user_id: str) -> User:
    return users.get_user(session, parse_id(user_id, "user"))


def _back_to_user(request: Request, user: User, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{path_for(request, 'admin_user', user_id=user.id)}?notice={notice}", status_code=303)


@router.get("/admin/users/{user_id}", name="admin_user")
def user_page(request: Request, session: SessionDep, _: AdminUser, user_id: str, notice: str = ""):
    return _user_page(request, session, _get_user(session, user_id), notice=notice)


@router.post("/admin/users/{user_id}")
def update_user(
    request: Request,
    session: SessionDep,
    principal: AdminUser,
    user_id: str,
    name: FormStr = "",
    role: FormStr = "",
    countries: FormList = [],  # noqa: B006
    donors: FormList = [],  # noqa: B006
):
    user = _get_user(session, user_id)
    form = {"name": name, "role": role, "countries": countries, "donors": donors}
    try:
        users.update_user(session, user, name=name, role=role, countries=countries, donors=donors,
                          actor_id=principal.id)
    except (Invalid, Conflict) as exc:
        session.rollback()
        return _user_page(request, session, user, form=form, errors=field_errors(exc), status_code=422)
    return _back_to_user(request, user, "saved")


def _set_active(request: Request, session: Session, principal: Principal, user_id: str, active: bool, reason: str):
    user = _get_user(session, user_id)
    try:
        users.set_active(session, user, active, actor_id=principal.id, reason=reason.strip()[:500])
    except Invalid as exc:
        session.rollback()
        return _user_page(request, session, user, errors=field_errors(exc), status_code=422)
    notice = "reactivated" if active else "deactivated"
    return _back_to_user(request, user, notice)


@router.post("/admin/users/{user_id}/deactivate")
def deactivate_user(request: Request, session: SessionDep, principal: AdminUser, user_id: str, reason: FormStr = ""):
    return _set_active(request, session, principal, user_id, False, reason)


@router.post("/admin/users/{user_id}/reactivate")
def reactivate_user(request: Request, session: SessionDep, principal: AdminUser, user_id: str, reason: FormStr = ""):
    return _set_active(request, session, principal, user_id, True, reason)


@router.post("/admin/users/{user_id}/tokens/{token_id}/revoke")
def revoke_user_token(request: Request, session: SessionDep, principal: AdminUser, user_id: str, token_id: str):
    user = _get_user(session, user_id)
    token = users.get_token(session, user.id, parse_id(token_id, "API token"))
    users.revoke_tokens(session, user, token.id, actor_id=principal.id)
    return _back_to_user(request, user, "token-revoked")


# --- the caller's own API tokens --------------------------------------------------------------

TOKEN_NOTICES = {"revoked": "The token has been revoked: it no longer works."}


# The lifetimes offered on the tokens page, in days ("": never, until revoked); 90 is preselected.
TOKEN_LIFETIMES = {"7": "7 days", "30": "30 days", "90": "90 days", "365": "1 year", "": "No expiry (until revoked)"}
DEFAULT_TOKEN_DAYS = "90"


def _tokens_page(request: Request, session: Session, principal: Principal, *, secret: str = "", name: str = "",
                 days: str = DEFAULT_TOKEN_DAYS, expires_at=None, errors: dict | None = None, notice: str = "",
                 status_code: int = 200):
    response = render(request, "account/tokens.html", {
        "tokens": users.tokens_of(session, principal.id), "secret": secret, "name": name,
        "errors": errors or {}, "notice": TOKEN_NOTICES.get(notice, ""),
        "lifetimes": TOKEN_LIFETIMES, "days": days.strip() if days.strip() in TOKEN_LIFETIMES else DEFAULT_TOKEN_DAYS,
        "expires_at": expires_at,
    }, status_code=status_code)
    # The page may carry a secret: never keep it in a cache or the back/forward history.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/account/tokens", name="tokens_page")
def tokens_page(request: Request, session: SessionDep, principal: CurrentUser, notice: str = ""):
    return _tokens_page(request, session, principal, notice=notice)


@router.post("/account/tokens")
def create_token(request: Request, session: SessionDep, principal: CurrentUser, name: FormStr = "",
                 days: FormStr = ""):
    if principal.via == "token":
        raise Forbidden("API tokens are created by a signed-in person, not with another token")
    errors = {}
    if not name.strip():
        errors["name"] = "Give the token a name, so that you can tell it apart later."
    if days.strip() not in TOKEN_LIFETIMES:
        errors["days"] = "Choose one of the offered lifetimes."
    if errors:
        return _tokens_page(request, session, principal, name=name, days=days, status_code=422, errors=errors)
    user = users.get_user(session, principal.id)
    try:
        token, secret = users.create_token(session, user, name, actor_id=principal.id,
                                           days=int(days) if days.strip() else None)
    except Invalid as exc:
        session.rollback()
        return _tokens_page(request, session, principal, name=name, days=days, errors=field_errors(exc),
                            status_code=422)
    return _tokens_page(request, session, principal, secret=secret, name=name.strip(), expires_at=token.expires_at)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, session: SessionDep, principal: CurrentUser, token_id: str):
    user = users.get_user(session, principal.id)
    token = users.get_token(session, user.id, parse_id(token_id, "API token"))
    users.revoke_tokens(session, user, token.id, actor_id=principal.id)
    return RedirectResponse(f"{path_for(request, 'tokens_page')}?notice=revoked", status_code=303)
