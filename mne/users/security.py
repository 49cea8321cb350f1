"""Password hashing (Argon2), password policy, and random secrets stored as digests."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Argon2 is slow and memory-hard by design (64 MiB and ≈0.3 s a hash): more hashes at once
# than cores only make each one slower and multiply the memory. It releases the GIL, and runs
# in the threadpool (sign-in and password routes are plain `def`), never on the event loop.
_hashing = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))

MIN_PASSWORD_LENGTH = 12
# The commonest choices; long enough ones still get refused when they are just these.
_COMMON = {
    "password", "passw0rd", "123456", "12345678", "123456789", "1234567890", "qwerty",
    "qwertyuiop", "letmein", "welcome", "admin", "iloveyou", "monkey", "dragon", "abc123",
    "password123", "password1234", "administrator", "changeme", "secret",
}
TOKEN_PREFIX = "mne_"


class WeakPassword(ValueError):
    """The password does not meet the policy; the message says why."""


def check_password_policy(password: str, email: str = "") -> None:
    if not password or not password.strip():
        raise WeakPassword("password is empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    if lowered in _COMMON or lowered.rstrip("0123456789!") in _COMMON:
        raise WeakPassword("password is too common")
    if len(set(password)) < 5:
        raise WeakPassword("password repeats too few characters")
    local = email.split("@")[0].lower()
    if local and len(local) >= 4 and local in lowered:
        raise WeakPassword("password must not contain the email name")


def hash_password(password: str) -> str:
    with _hashing:
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        with _hashing:
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the account does not exist, so a wrong email costs as
# much time as a wrong password and does not reveal which accounts exist.
DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy random secret (API token, session id): enough to store."""
    return hashlib.sha256(secret.encode()).hexdigest()
