"""Creating users and API tokens, and resolving a token to its user."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from mne.audit import service as audit
from mne.base import Role, utcnow
from mne.errors import Conflict, Invalid, NotFound
from mne.reference.models import Country, Donor
from mne.users import security
from mne.users.models import ApiToken, User, UserCountry, UserDonor

SCOPED_BY_COUNTRY = {Role.country_officer}
SCOPED_BY_DONOR = {Role.donor_viewer}


def normalise_email(email: str) -> str:
    try:
        # Deliverability is a mail-server question; here we only need a well-formed address.
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid.field("email", str(exc)) from exc


def _check_scope(session: Session, role: str, countries: list[str], donors: list[str]) -> None:
    if role not in Role.__members__.values():
        raise Invalid.field("role", f"unknown role {role!r}; one of {', '.join(Role)}")
    known_countries = set(session.exec(select(Country.iso3)))
    unknown = [c for c in countries if c not in known_countries]
    if unknown:
        raise Invalid.field("countries", f"unknown country code {', '.join(unknown)}")
    known_donors = set(session.exec(select(Donor.code)))
    unknown = [d for d in donors if d not in known_donors]
    if unknown:
        raise Invalid.field("donors", f"unknown donor code {', '.join(unknown)}")
    if role in SCOPED_BY_COUNTRY and not countries:
        raise Invalid.field("countries", "a country officer needs at least one country")
    if role in SCOPED_BY_DONOR and not donors:
        raise Invalid.field("donors", "a donor viewer needs at least one donor")
    if role not in SCOPED_BY_COUNTRY and countries:
        raise Invalid.field("countries", f"a {role} is not scoped by country")
    if role not in SCOPED_BY_DONOR and donors:
        raise Invalid.field("donors", f"a {role} is not scoped by donor")


def user_scopes(session: Session, user: User) -> tuple[list[str], list[str]]:
    countries = session.exec(
        select(UserCountry.country_iso3).where(UserCountry.user_id == user.id).order_by(UserCountry.country_iso3)
    ).all()
    donors = session.exec(
        select(UserDonor.donor_code).where(UserDonor.user_id == user.id).order_by(UserDonor.donor_code)
    ).all()
    return list(countries), list(donors)


def user_snapshot(session: Session, user: User) -> dict:
    countries, donors = user_scopes(session, user)
    data = audit.snapshot(user, exclude=("password_hash",)) or {}
    return {**data, "countries": countries, "donors": donors}


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: str,
    name: str = "",
    countries: Iterable[str] = (),
    donors: Iterable[str] = (),
    is_demo: bool = False,
    actor_id: int | None = None,
) -> User:
    email = normalise_email(email)
    countries = sorted({c.strip().upper() for c in countries})
    donors = sorted({d.strip() for d in donors})
    _check_scope(session, role, countries, donors)
    if session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict(f"a user with email {email} already exists", details=[{"field": "email", "message": "already exists"}])
    try:
        security.check_password_policy(password, email)
    except security.WeakPassword as exc:
        raise Invalid.field("password", str(exc)) from exc
    user = User(email=email, name=name, role=role, password_hash=security.hash_password(password), is_demo=is_demo)
    session.add(user)
    session.flush()
    session.add_all(UserCountry(user_id=user.id, country_iso3=c) for c in countries)
    session.add_all(UserDonor(user_id=user.id, donor_code=d) for d in donors)
    session.flush()
    audit.record(session, actor_id=actor_id, action="user.create", entity="user", entity_id=user.id,
                 after=user_snapshot(session, user))
    return user


def get_user_by_email(session: Session, email: str) -> User:
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise NotFound(f"no user with email {email}", details=[{"field": "email", "message": "not found"}])
    return user


def set_password(session: Session, user: User, password: str, *, actor_id: int | None) -> None:
    try:
        security.check_password_policy(password, user.email)
    except security.WeakPassword as exc:
        raise Invalid.field("password", str(exc)) from exc
    user.password_hash = security.hash_password(password)
    session.add(user)
    audit.record(session, actor_id=actor_id, action="user.password", entity="user", entity_id=user.id)


def create_token(session: Session, user: User, name: str = "", *, actor_id: int | None = None) -> tuple[ApiToken, str]:
    """Returns the stored token row and the secret, which is shown once and never stored."""
    secret = security.new_secret(security.TOKEN_PREFIX)
    token = ApiToken(user_id=user.id, name=name, token_hash=security.digest(secret), prefix=secret[:10])
    session.add(token)
    session.flush()
    audit.record(session, actor_id=actor_id, action="token.create", entity="user", entity_id=user.id,
                 after={"token_id": token.id, "name": name, "prefix": token.prefix})
    return token, secret


def revoke_tokens(session: Session, user: User, token_id: int | None = None, *, actor_id: int | None = None) -> int:
    """Revoke one token of the user, or all of them; answers how many were revoked."""
    statement = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        statement = statement.where(ApiToken.id == token_id)
    tokens = list(session.exec(statement))
    now = utcnow()
    for token in tokens:
        token.revoked_at = now
        session.add(token)
        audit.record(session, actor_id=actor_id, action="token.revoke", entity="user", entity_id=user.id,
                     before={"token_id": token.id, "prefix": token.prefix})
    return len(tokens)


def user_for_token(session: Session, secret: str, now: datetime | None = None) -> User | None:
    row = session.exec(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == security.digest(secret), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    token, user = row
    if not user.is_active:
        return None
    token.last_used_at = now or utcnow()
    session.add(token)
    return user
