"""Server-side sign-in sessions and the sign-in throttle.

The cookie holds a random id; the database holds only its digest, so a stolen database
cannot be replayed as cookies, and deleting the row signs the browser out on the server.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlmodel import Session, col, delete, func, select

from mne.base import utcnow
from mne.users import security
from mne.users.models import LoginAttempt, User, UserSession

COOKIE_NAME = "mne_session"
FAILURE_WINDOW = timedelta(minutes=15)
# Failed sign-ins counted within FAILURE_WINDOW before further sign-ins are refused (429).
# Per account: strict, it is what stops guessing one password.
MAX_FAILURES = 5
# Per client address: much higher, since a whole office behind one NAT address shares it (and
# one user's typos must not lock out colleagues); it still caps spraying many accounts from
# one address. The address is the direct peer unless it is a trusted proxy (MNE_TRUSTED_PROXIES).
MAX_FAILURES_PER_ADDRESS = 100


def start(session: Session, user: User, hours: int) -> tuple[str, UserSession]:
    """A fresh session id at every sign-in (no fixation). Returns the cookie value."""
    cookie = security.new_secret()
    row = UserSession(
        id_hash=security.digest(cookie),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + timedelta(hours=hours),
    )
    session.add(row)
    return cookie, row


def lookup(session: Session, cookie: str) -> tuple[UserSession, User] | None:
    row = session.exec(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.id_hash == security.digest(cookie))
    ).first()
    if row is None:
        return None
    user_session, user = row
    if user_session.expires_at <= utcnow() or not user.is_active:
        return None  # reads never write: expired rows are purged at the next sign-in
    return user_session, user


def end(session: Session, cookie: str) -> None:
    session.exec(delete(UserSession).where(UserSession.id_hash == security.digest(cookie)))


def end_all_for(session: Session, user_id: int) -> None:
    session.exec(delete(UserSession).where(UserSession.user_id == user_id))


def seconds_blocked(session: Session, email: str, ip: str) -> int:
    """0 when a sign-in may be tried; else how long until the oldest counted failure expires."""
    since = utcnow() - FAILURE_WINDOW
    for clause, limit in ((LoginAttempt.email == email, MAX_FAILURES),
                          (LoginAttempt.ip == ip, MAX_FAILURES_PER_ADDRESS)):
        count, oldest = session.exec(
            select(func.count(), func.min(LoginAttempt.at)).where(clause, LoginAttempt.at > since)
        ).one()
        if count >= limit:
            return max(1, int((oldest + FAILURE_WINDOW - utcnow()).total_seconds()) + 1)
    return 0


def record_failure(session: Session, email: str, ip: str) -> None:
    # Cut to the columns' widths: no account has a longer email, and PostgreSQL would refuse it.
    session.add(LoginAttempt(email=email[:254], ip=ip[:64]))


def clear_failures(session: Session, email: str) -> None:
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.email) == email))


def purge_expired(session: Session) -> None:
    now = utcnow()
    session.exec(delete(UserSession).where(UserSession.expires_at < now))
    session.exec(delete(LoginAttempt).where(LoginAttempt.at < now - FAILURE_WINDOW))

