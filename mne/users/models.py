"""User tables: accounts with role and scopes, API tokens, sessions and sign-in attempts.

Secrets are never stored readable: passwords as Argon2 hashes, tokens and session ids as
SHA-256 digests (they are long random strings, so a fast hash is enough).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlalchemy import true as sa_true
from sqlmodel import Field, SQLModel

from mne.base import Role, UTCDateTime, one_of, utcnow


class User(SQLModel, table=True):
    __tablename__ = "user"
    __table_args__ = (one_of("role", Role),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(default="", max_length=120)
    role: str = Field(max_length=20)
    password_hash: str = Field(max_length=200)
    is_active: bool = True
    is_demo: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The reminder digests of `mne remind`; each user may turn them off on the account page.
    email_digests: bool = Field(default=True, sa_column_kwargs={"server_default": sa_true()})


class UserCountry(SQLModel, table=True):
    __tablename__ = "user_country"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    country_iso3: str = Field(foreign_key="country.iso3", primary_key=True, max_length=3)


class UserDonor(SQLModel, table=True):
    __tablename__ = "user_donor"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    donor_code: str = Field(foreign_key="donor.code", primary_key=True, max_length=32)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    name: str = Field(default="", max_length=80)
    token_hash: str = Field(max_length=64, unique=True)
    # The first characters, shown in lists so a user can tell tokens apart.
    prefix: str = Field(max_length=12)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # None: until revoked. Past it the token answers 401, as a revoked one does.
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()


class UserSession(SQLModel, table=True):
    """A signed-in browser. Deleting the row signs it out on the server."""

    __tablename__ = "user_session"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class LoginAttempt(SQLModel, table=True):
    """Failed sign-ins, counted per account and per address to slow down guessing."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    ip: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
