"""Sign-in, sessions, CSRF and the sign-in throttle, through the real pages."""

from __future__ import annotations

import re

import pytest

from tests import factories


@pytest.fixture
def officer(session):
    return factories.user(session, "country_officer", countries=["KGZ"], email="auth.officer@test.example")


def _login_csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)


def _post_login(client, email, password, next_url="/"):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": _login_csrf(client),
                                       "next": next_url}, follow_redirects=False)


def test_session_cookie_is_httponly_and_lax(client, officer):
    response = _post_login(client, officer.email, factories.PASSWORD)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "mne_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_new_session_id_at_each_sign_in(client, officer):
    client.cookies.set("mne_session", "attacker-chosen-session-id")  # fixation attempt
    first = _post_login(client, officer.email, factories.PASSWORD).cookies.get("mne_session")
    client.cookies.clear()
    second = _post_login(client, officer.email, factories.PASSWORD).cookies.get("mne_session")
    assert first and second and len({first, second, "attacker-chosen-session-id"}) == 3


def test_same_message_for_unknown_email_and_wrong_password(client, officer):
    a = _post_login(client, officer.email, "wrong-password-123")
    b = _post_login(client, "nobody@test.example", "wrong-password-123")
    assert a.status_code == b.status_code == 401
    assert "Wrong email or password." in a.text and "Wrong email or password." in b.text


@pytest.mark.parametrize("target, expected", [
    ("/account/password", "/account/password"),
    ("https://evil.example/", "/"),
    ("//evil.example/x", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_never_leaves_the_site(client, officer, target, expected):
    response = _post_login(client, officer.email, factories.PASSWORD, target)
    assert response.status_code == 303 and response.headers["location"] == expected


def test_five_failures_lock_the_account_for_a_while(client, officer):
    for _ in range(5):
        assert _post_login(client, officer.email, "wrong-password-123").status_code == 401
    response = _post_login(client, officer.email, factories.PASSWORD)
    assert response.status_code == 429
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60


def test_sign_out_ends_the_session_on_the_server(client, officer):
    csrf = factories.sign_in(client, officer.email)
    stolen = client.cookies.get("mne_session")
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.set("mne_session", stolen)  # replaying the old cookie must not work
    response = client.get("/account/password", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_forged_post_without_csrf_token_is_refused_and_changes_nothing(client, session, officer):
    from mne.users import security
    from mne.users.models import User

    factories.sign_in(client, officer.email)
    data = {"current_password": factories.PASSWORD, "new_password": "A-brand-new-passphrase-7",
            "confirm_password": "A-brand-new-passphrase-7"}
    for forged in ({}, {"csrf_token": "forged"}):
        response = client.post("/account/password", data={**data, **forged}, follow_redirects=False)
        assert response.status_code == 403
    session.expire_all()
    assert security.verify_password(session.get(User, officer.id).password_hash, factories.PASSWORD)
    # And a forged logout does not sign the user out.
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.get("/account/password", follow_redirects=False).status_code == 200


def test_htmx_header_carries_the_csrf_token(client, officer):
    csrf = factories.sign_in(client, officer.email)
    response = client.post("/logout", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 303


def test_change_password(client, session, officer):
    from mne.users import security
    from mne.users.models import User

    csrf = factories.sign_in(client, officer.email)
    weak = client.post("/account/password", data={"csrf_token": csrf, "current_password": factories.PASSWORD,
                                                  "new_password": "short", "confirm_password": "short"})
    assert weak.status_code == 422 and "at least 12 characters" in weak.text
    ok = client.post("/account/password", data={"csrf_token": csrf, "current_password": factories.PASSWORD,
                                                "new_password": "A-brand-new-passphrase-7",
                                                "confirm_password": "A-brand-new-passphrase-7"},
                     follow_redirects=False)
    assert ok.status_code == 303
    session.expire_all()
    assert security.verify_password(session.get(User, officer.id).password_hash, "A-brand-new-passphrase-7")
    assert "password has been changed" in client.get("/account/password?done=1").text


def test_bearer_api_calls_need_no_csrf(client, session):
    headers = factories.token(session, "admin")
    response = client.post("/api/v1/donors", json={"code": "NOCSRF", "name": "x"}, headers=headers)
    assert response.status_code == 201
