"""Small factories that build real rows through the real services."""

from __future__ import annotations

import itertools

from sqlmodel import Session

from mne.reference.models import Donor
from mne.users import service as users

PASSWORD = "Correct-Horse-Battery-42"
_seq = itertools.count(1)


def user(session: Session, role: str, *, countries=(), donors=(), email: str | None = None, password: str = PASSWORD):
    email = email or f"{role}.{next(_seq)}@test.example"
    created = users.create_user(session, email=email, password=password, role=role,
                                countries=countries, donors=donors)
    session.flush()
    return created


def token(session: Session, role: str, **kwargs) -> dict[str, str]:
    """Authorization headers of a new user of that role."""
    u = user(session, role, **kwargs)
    _, secret = users.create_token(session, u)
    session.flush()
    return {"Authorization": f"Bearer {secret}"}


def donor(session: Session, code: str, name: str | None = None) -> Donor:
    existing = session.get(Donor, code)
    if existing:
        return existing
    d = Donor(code=code, name=name or f"Donor {code}")
    session.add(d)
    session.flush()
    return d
