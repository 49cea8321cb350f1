"""Users: creating, changing and deactivating them; API tokens, and resolving a token to its user."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlmodel import Session, col, select

from mne.audit import service as audit
from mne.auth import sessions
from mne.base import Role, utcnow
from mne.errors import Conflict, Invalid, NotFound
from mne import text
from mne.reference.models import Country, Donor
from mne.users import security
from mne.users.models import ApiToken, User, UserCountry, UserDonor

log = logging.getLogger(__name__)

SCOPED_BY_COUNTRY = {Role.country_officer}
SCOPED_BY_DONOR = {Role.donor_viewer}
NAME_MAX = 120
TOKEN_NAME_MAX = 80
TOKEN_DAYS_MAX = 3650  # ten years: beyond that, "never" says it better


def normalise_email(email: str) -> str:
    try:
        # Deliverability is a mail-server question; here we only need a well-formed address.
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid.field("email", str(exc)) from exc


def _check_scope(session: Session, role: str, countries: list[str], donors: list[str]) -> None:
    if not role:
        raise Invalid.field("role", f"choose a role: one of {', '.join(Role)}")
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


def _normalise_scope(countries: Iterable[str], donors: Iterable[str]) -> tuple[list[str], list[str]]:
    return (sorted({c.strip().upper() for c in countries if c.strip()}),
            sorted({d.strip() for d in donors if d.strip()}))


def _check_name(name: str) -> str:
    name = name.strip()
    if len(name) > NAME_MAX:
        raise Invalid.field("name", f"name must have at most {NAME_MAX} characters")
    return _one_line("name", name)


def _one_line(field: str, value: str) -> str:
    """The rule of every schema's text (`mne.text`): no NUL or other control character."""
    try:
        return text.check(value, multiline=False)
    except ValueError as exc:
        raise Invalid.field(field, str(exc)) from None


def _gather(*checks) -> None:
    """Run independent checks and report every problem at once, not only the first."""
    details: list[dict] = []
    for check in checks:
        try:
            check()
        except Invalid as exc:
            details.extend(exc.details)
    if details:
        raise Invalid("; ".join(f"{d['field']}: {d['message']}" for d in details), details=details)


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
    countries, donors = _normalise_scope(countries, donors)
    normalised: dict[str, str] = {}

    def check_email() -> None:
        normalised["email"] = normalise_email(email)

    def check_password() -> None:
        try:
            security.check_password_policy(password, normalised.get("email", email.strip().lower()))
        except security.WeakPassword as exc:
            raise Invalid.field("password", str(exc)) from exc

    def check_name() -> None:
        normalised["name"] = _check_name(name)

    _gather(check_email, check_name, lambda: _check_scope(session, role, countries, donors), check_password)
    email = normalised["email"]
    if session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict(f"a user with email {email} already exists", details=[{"field": "email", "message": "already exists"}])
    user = User(email=email, name=normalised["name"], role=role, password_hash=security.hash_password(password),
                is_demo=is_demo)
    session.add(user)
    session.flush()
    session.add_all(UserCountry(user_id=user.id, country_iso3=c) for c in countries)
    session.add_all(UserDonor(user_id=user.id, donor_code=d) for d in donors)
    session.flush()
    audit.record(session, actor_id=actor_id, action="user.create", entity="user", entity_id=user.id,
                 after=user_snapshot(session, user))
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def list_users(session: Session, *, email: str = "", role: str = "", active: bool | None = None,
               limit: int = 500) -> list[User]:
    """Users whose email contains `email`, optionally of one role and one state, by email."""
    statement = select(User).order_by(User.email).limit(limit)
    if email.strip():
        pattern = "%" + email.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(col(User.email).like(pattern, escape="\\"))
    if role:
        statement = statement.where(User.role == role)
    if active is not None:
        statement = statement.where(User.is_active == active)
    return list(session.exec(statement))


def scopes_of(session: Session, user_ids: Iterable[int]) -> dict[int, tuple[list[str], list[str]]]:
    """(countries, donors) of many users in two queries, for lists."""
    ids = list(user_ids)
    out: dict[int, tuple[list[str], list[str]]] = {i: ([], []) for i in ids}
    if not ids:
        return out
    for uid, iso3 in session.exec(select(UserCountry.user_id, UserCountry.country_iso3)
                                  .where(col(UserCountry.user_id).in_(ids)).order_by(UserCountry.country_iso3)):
        out[uid][0].append(iso3)
    for uid, code in session.exec(select(UserDonor.user_id, UserDonor.donor_code)
                                  .where(col(UserDonor.user_id).in_(ids)).order_by(UserDonor.donor_code)):
        out[uid][1].append(code)
    return out


def _other_active_admins(session: Session, user: User) -> int:
    return len(session.exec(
        select(User.id).where(User.role == Role.admin, User.is_active.is_(True), User.id != user.id)
    ).all())


def update_user(
    session: Session,
    user: User,
    *,
    name: str,
    role: str,
    countries: Iterable[str] = (),
    donors: Iterable[str] = (),
    actor_id: int | None,
) -> User:
    """Change a user's name, role and scopes; one audit event with before and after."""
    countries, donors = _normalise_scope(countries, donors)
    normalised: dict[str, str] = {}

    def check_name() -> None:
        normalised["name"] = _check_name(name)

    def check_role() -> None:
        if role == user.role or user.role != Role.admin:
            return
        if actor_id is not None and actor_id == user.id:
            raise Invalid.field("role", "you cannot take the admin role away from yourself; ask another admin")
        if user.is_active and _other_active_admins(session, user) == 0:
            raise Invalid.field("role", "this is the last active admin; make another user admin first")

    _gather(check_name, lambda: _check_scope(session, role, countries, donors), check_role)
    before = user_snapshot(session, user)
    user.name = normalised["name"]
    user.role = role
    session.add(user)
    old_countries, old_donors = user_scopes(session, user)
    for iso3 in set(old_countries) - set(countries):
        session.delete(session.get(UserCountry, (user.id, iso3)))
    for code in set(old_donors) - set(donors):
        session.delete(session.get(UserDonor, (user.id, code)))
    session.add_all(UserCountry(user_id=user.id, country_iso3=c) for c in countries if c not in old_countries)
    session.add_all(UserDonor(user_id=user.id, donor_code=d) for d in donors if d not in old_donors)
    session.flush()
    after = user_snapshot(session, user)
    if after != before:
        audit.record(session, actor_id=actor_id, action="user.update", entity="user", entity_id=user.id,
                     before=before, after=after)
    return user


def set_active(session: Session, user: User, active: bool, *, actor_id: int | None, reason: str = "") -> User:
    """Deactivate (signs the user out everywhere; its tokens stop working) or reactivate."""
    if user.is_active == active:
        return user
    if not active:
        if actor_id is not None and actor_id == user.id:
            raise Invalid.field("is_active", "you cannot deactivate your own account")
        if user.role == Role.admin and _other_active_admins(session, user) == 0:
            raise Invalid.field("is_active", "this is the last active admin; it cannot be deactivated")
    user.is_active = active
    session.add(user)
    if not active:
        sessions.end_all_for(session, user.id)
    audit.record(session, actor_id=actor_id, action="user.reactivate" if active else "user.deactivate",
                 entity="user", entity_id=user.id, before={"is_active": not active},
                 after={"is_active": active}, reason=reason)
    session.flush()
    return user


def get_user_by_email(session: Session, email: str) -> User:
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise NotFound(f"no user with email {email}", details=[{"field": "email", "message": "not found"}])
    return user


def set_password(session: Session, user: User, password: str, *, actor_id: int | None) -> None:
    """A new password; whoever held the old one is shut out: every session of the user ends (the
    caller may start a fresh one for the browser that made the change) and every API token is
    revoked, since a token may have been made by whoever knew the old password."""
    try:
        security.check_password_policy(password, user.email)
    except security.WeakPassword as exc:
        raise Invalid.field("password", str(exc)) from exc
    user.password_hash = security.hash_password(password)
    session.add(user)
    audit.record(session, actor_id=actor_id, action="user.password", entity="user", entity_id=user.id)
    sessions.end_all_for(session, user.id)
    revoke_tokens(session, user, actor_id=actor_id, reason="the password was changed")


def create_token(session: Session, user: User, name: str = "", *, actor_id: int | None = None,
                 days: int | None = None) -> tuple[ApiToken, str]:
    """Returns the stored token row and the secret, which is shown once and never stored. With
    `days`, the token stops working that many days from now (401, as a revoked one)."""
    name = name.strip()
    if len(name) > TOKEN_NAME_MAX:
        raise Invalid.field("name", f"name must have at most {TOKEN_NAME_MAX} characters")
    _one_line("name", name)
    if days is not None and not 1 <= days <= TOKEN_DAYS_MAX:
        raise Invalid.field("days", f"a token expires after 1 to {TOKEN_DAYS_MAX} days")
    secret = security.new_secret(security.TOKEN_PREFIX)
    token = ApiToken(user_id=user.id, name=name, token_hash=security.digest(secret), prefix=secret[:10],
                     expires_at=utcnow() + timedelta(days=days) if days is not None else None)
    session.add(token)
    session.flush()
    audit.record(session, actor_id=actor_id, action="token.create", entity="user", entity_id=user.id,
                 after={"token_id": token.id, "name": name, "prefix": token.prefix,
                        "expires_at": token.expires_at.isoformat() if token.expires_at else None})
    return token, secret


def revoke_tokens(session: Session, user: User, token_id: int | None = None, *, actor_id: int | None = None,
                  reason: str = "") -> int:
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
                     before={"token_id": token.id, "prefix": token.prefix}, reason=reason)
    return len(tokens)


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    """A user's tokens, the newest first (revoked ones too, marked by `revoked_at`)."""
    return list(session.exec(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
    ))


def get_token(session: Session, user_id: int, token_id: int) -> ApiToken:
    """One token of that user; another user's token is as unknown as a missing one."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        raise NotFound(f"no API token with id {token_id}")
    return token


def find_token(session: Session, secret: str) -> tuple[ApiToken, User] | None:
    """The live (unrevoked, unexpired) token with this secret and its active user; None otherwise. Reads only: its
    use is recorded apart, by `record_token_use`."""
    row = session.exec(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == security.digest(secret), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or not row[1].is_active or row[0].expired:
        return None
    return row[0], row[1]


# "Last used" is shown to the minute; once per token per interval is plenty.
TOKEN_USE_INTERVAL = timedelta(minutes=5)
# SQLite has one writer at a time: wait this long for it, then leave it to the next use.
TOKEN_USE_WAIT_MS = 250


def record_token_use(bind: Engine | Connection, token_id: int, last_used_at: datetime | None,
                     now: datetime | None = None) -> bool:
    """Set a token's `last_used_at` at most once per `TOKEN_USE_INTERVAL`, in a transaction of
    its own that does not queue: concurrent calls with the same token would otherwise all wait
    on that one row (PostgreSQL: SKIP LOCKED; SQLite: at most `TOKEN_USE_WAIT_MS` for the write
    lock). Best effort: a skipped or failed update is tried again on the token's next use.
    `bind` is the engine, or a connection already in a transaction (then a savepoint of it).
    Answers whether it wrote."""
    now = now or utcnow()
    cutoff = now - TOKEN_USE_INTERVAL
    if last_used_at is not None and last_used_at > cutoff:
        return False
    table = ApiToken.__table__
    stale = (table.c.id == token_id) & (table.c.last_used_at.is_(None) | (table.c.last_used_at < cutoff))
    if bind.dialect.name == "sqlite":
        statement = sql_update(table).where(stale)
    else:
        free = select(table.c.id).where(stale).with_for_update(skip_locked=True).scalar_subquery()
        statement = sql_update(table).where(table.c.id == free)
    try:
        with _short_transaction(bind) as conn:
            return conn.execute(statement.values(last_used_at=now)).rowcount == 1
    except (DBAPIError, SQLAlchemyTimeoutError) as exc:
        log.info("token %s: last use not recorded this time (%s)", token_id, type(exc).__name__)
        return False


@contextmanager
def _short_transaction(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        with bind.begin_nested():
            yield bind
        return
    with bind.connect() as conn:
        sqlite = bind.dialect.name == "sqlite"
        raw = conn.connection.driver_connection  # pragmas outside any transaction
        waits = raw.execute("PRAGMA busy_timeout").fetchone()[0] if sqlite else None
        if sqlite:
            raw.execute(f"PRAGMA busy_timeout={TOKEN_USE_WAIT_MS}")
        try:
            with conn.begin():
                yield conn
        finally:
            if sqlite:
                raw.execute(f"PRAGMA busy_timeout={waits}")
