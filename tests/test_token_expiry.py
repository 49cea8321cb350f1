"""API tokens may expire, and a password change shuts out whoever knew the old one (issue 13,
finding 8: tokens survived a password change and never expired).

An expired token answers 401 like a revoked one; `mne token create --days N` and the tokens
page's "Expires in" set the lifetime; a password change revokes every token of the user and
ends their other sessions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from mne.audit.models import AuditEvent
from mne.base import utcnow
from mne.errors import Invalid
from mne.users import service as users
from mne.users.models import ApiToken
from tests import factories
from tests.command_line import mne
from tests.pages import browser, doc, error_beside, fresh

NEW_PASSWORD = "A-brand-new-passphrase-7"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def refused(response) -> str:
    assert response.status_code == 401, response.text
    return response.json()["error"]["message"]


def test_a_token_with_days_works_until_it_expires_then_answers_401(client, session):
    user = factories.user(session, "regional_reviewer")
    token, secret = users.create_token(session, user, "nightly export", days=30)
    forever, forever_secret = users.create_token(session, user, "dashboard")
    session.flush()
    # 30 days from now, to the second the token was made (the test runs well within a minute).
    assert abs(token.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)
    assert forever.expires_at is None
    assert client.get("/api/v1/priorities", headers=bearer(secret)).status_code == 200
    token.expires_at = utcnow() - timedelta(seconds=1)
    session.add(token)
    session.flush()
    assert "expired" in refused(client.get("/api/v1/priorities", headers=bearer(secret)))
    assert client.get("/api/v1/priorities", headers=bearer(forever_secret)).status_code == 200


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_a_lifetime_outside_1_to_3650_days_is_refused(session, days):
    user = factories.user(session, "admin")
    with pytest.raises(Invalid) as refusal:
        users.create_token(session, user, "x", days=days)
    assert refusal.value.details == [{"field": "days", "message": "a token expires after 1 to 3650 days"}]
    assert users.tokens_of(session, user.id) == []


def test_the_tokens_page_offers_a_lifetime(client, session):
    user = factories.user(session, "country_officer", countries=["KGZ"])
    session.commit()
    csrf = factories.sign_in(client, user.email)
    page = doc(client.get("/account/tokens"))
    offered = {o.get("value"): o.get("selected") is not None for o in page.get_element_by_id("token-days")}
    assert offered == {"7": False, "30": False, "90": True, "365": False, "": False}  # 90 days preselected
    response = client.post("/account/tokens", data={"csrf_token": csrf, "name": "Power BI", "days": "7"})
    assert response.status_code == 200
    secret = doc(response).get_element_by_id("new-token").get("value")
    [token] = users.tokens_of(fresh(session), user.id)
    assert abs(token.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)
    shown = doc(response).get_element_by_id("secret-heading").getnext().text_content()
    assert shown == f"It works until {token.expires_at:%Y-%m-%d %H:%M} UTC."
    response = client.post("/account/tokens", data={"csrf_token": csrf, "name": "for ever", "days": ""})
    assert "It works until you revoke it." in response.text
    # A lifetime that is not offered: beside the field, nothing created.
    response = client.post("/account/tokens", data={"csrf_token": csrf, "name": "odd", "days": "100000"})
    assert response.status_code == 422
    assert error_beside(response, "token-days") == "Choose one of the offered lifetimes."
    assert len(users.tokens_of(fresh(session), user.id)) == 2
    # Once expired, the list says so and offers no revoke button.
    token = fresh(session).get(ApiToken, token.id)
    token.expires_at = utcnow() - timedelta(hours=1)
    session.add(token)
    session.commit()
    row = [tr for tr in doc(client.get("/account/tokens")).xpath("//tbody/tr") if "Power BI" in tr.text_content()][0]
    assert "Expired" in row.text_content() and not row.xpath(".//button")
    assert client.get("/api/v1/priorities", headers=bearer(secret)).status_code == 401


def test_a_password_change_revokes_the_tokens_and_ends_the_other_sessions(client, session):
    user = factories.user(session, "country_officer", countries=["KGZ"])
    _, first = users.create_token(session, user, "script")
    _, second = users.create_token(session, user, "sheet", days=90)
    session.commit()
    assert client.get("/api/v1/priorities", headers=bearer(first)).status_code == 200
    other = browser(client)
    factories.sign_in(other, user.email)
    csrf = factories.sign_in(client, user.email)
    page = client.get("/account/password")
    assert "revokes all your" in doc(page).get_element_by_id("password-effects").text_content()
    response = client.post("/account/password", follow_redirects=False, data={
        "csrf_token": csrf, "current_password": factories.PASSWORD, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD})
    assert response.status_code == 303
    for secret in (first, second):
        refused(client.get("/api/v1/priorities", headers=bearer(secret)))
    assert all(t.revoked_at is not None for t in users.tokens_of(fresh(session), user.id))
    revocations = fresh(session).exec(select(AuditEvent).where(
        AuditEvent.action == "token.revoke", AuditEvent.entity_id == str(user.id))).all()
    assert [e.reason for e in revocations] == ["the password was changed"] * 2
    assert all(e.actor_id == user.id for e in revocations)
    # The other browser is signed out; this one stays signed in and is told what happened.
    assert other.get("/account/password", follow_redirects=False).status_code == 303
    done = client.get(response.headers["location"])
    assert done.status_code == 200 and "your API tokens have been revoked" in done.text
    # A refused change (wrong current password) revokes nothing.
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', done.text).group(1)  # the new session's
    _, third = users.create_token(fresh(session), user, "after")
    session.commit()
    wrong = client.post("/account/password", data={"csrf_token": csrf, "current_password": "not-the-password",
                                                   "new_password": NEW_PASSWORD + "x",
                                                   "confirm_password": NEW_PASSWORD + "x"})
    assert wrong.status_code == 422
    assert client.get("/api/v1/priorities", headers=bearer(third)).status_code == 200


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('tokens') / 'cli.db'}"
    assert mne(["db", "upgrade"], url).returncode == 0
    assert mne(["seed", "reference"], url).returncode == 0
    added = mne(["user", "add", "expiry@test.example", "--role", "admin", "--password-stdin"], url,
                input=factories.PASSWORD + "\n", text=True, stdout=-1, stderr=-1)
    assert added.returncode == 0, added.stderr
    return url


def test_token_create_days_on_the_command_line(cli_db):
    from mne.db import engine_for
    from mne.unit_of_work import UnitOfWork

    done = mne(["token", "create", "expiry@test.example", "--name", "ci", "--days", "14"], cli_db, text=True)
    assert done.returncode == 0, done.stderr
    assert "it expires on" in done.stdout
    secret = done.stdout.strip().splitlines()[-1]
    with UnitOfWork(engine_for(cli_db)) as session:
        found = users.find_token(session, secret)
        assert found is not None
        assert abs(found[0].expires_at - (utcnow() + timedelta(days=14))) < timedelta(minutes=1)
    for bad in ("0", "3651"):
        refused = mne(["token", "create", "expiry@test.example", "--days", bad], cli_db, text=True)
        assert refused.returncode != 0 and "days" in refused.stderr and "3650" in refused.stderr
    plain = mne(["token", "create", "expiry@test.example"], cli_db, text=True)
    assert plain.returncode == 0 and "expires" not in plain.stdout
