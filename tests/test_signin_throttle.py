"""The sign-in throttle's two limits: strict per account, high per address (an office behind
one NAT address shares it). Forwarded addresses and several workers: tests/test_workers.py."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mne.auth import sessions
from mne.users.models import LoginAttempt
from tests import factories
from tests.test_auth import _post_login

WRONG = "wrong-password-123"


@pytest.fixture
def colleagues(session):
    """Four accounts signing in from the same address (the TestClient's)."""
    made = [factories.user(session, "country_officer", countries=["KGZ"], email=f"nat.{n}@test.example")
            for n in range(4)]
    session.commit()
    return [u.email for u in made]


def test_one_users_failures_do_not_lock_out_another_at_the_same_address(client, colleagues):
    first, second, *_ = colleagues
    for _ in range(5):
        assert _post_login(client, first, WRONG).status_code == 401
    assert _post_login(client, first, factories.PASSWORD).status_code == 429  # that account: strict
    assert _post_login(client, second, factories.PASSWORD).status_code == 303  # the colleague: not


def test_many_failures_from_one_address_under_the_address_limit_lock_out_nobody(client, session, colleagues):
    # Twelve failures from one address, four per account (each under the account limit of 5).
    for email in colleagues[:3]:
        for _ in range(4):
            assert _post_login(client, email, WRONG).status_code == 401
    assert len(session.exec(select(LoginAttempt).where(LoginAttempt.ip == "testclient")).all()) == 12
    assert _post_login(client, colleagues[3], factories.PASSWORD).status_code == 303


def test_the_address_limit_refuses_every_account_once_reached(client, colleagues, monkeypatch):
    # The shipped limit (100) would take 100 Argon2 checks to reach; the rule is the same at 3.
    monkeypatch.setattr(sessions, "MAX_FAILURES_PER_ADDRESS", 3)
    for email in colleagues[:3]:  # one failure per account: no account is near its own limit
        assert _post_login(client, email, WRONG).status_code == 401
    response = _post_login(client, colleagues[3], factories.PASSWORD)
    assert response.status_code == 429 and 0 < int(response.headers["retry-after"]) <= 15 * 60


def test_the_limits_are_strict_per_account_and_high_per_address():
    assert sessions.MAX_FAILURES == 5
    assert sessions.MAX_FAILURES_PER_ADDRESS == 100
