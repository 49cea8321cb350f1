"""Signing in and out in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def reviewer(live_server):
    with live_server.session() as session:
        user = factories.user(session, "regional_reviewer", email="browser.reviewer@test.example")
        session.commit()
        return user.email


def test_sign_in_see_start_page_and_sign_out(page: Page, live_server, reviewer):
    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/login?next=/")
    screenshot(page, "login")
    page.get_by_label("Email").fill(reviewer)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Regional strategy 2020–2024")).to_be_visible()
    expect(page.get_by_text("regional reviewer").first).to_be_visible()
    screenshot(page, "home-reviewer")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "home-reviewer-narrow")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server.url + "/login")
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_wrong_password_shows_one_generic_message(page: Page, live_server, reviewer):
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(reviewer)
    page.get_by_label("Password").fill("not-the-password-at-all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    page.get_by_label("Email").fill("nobody@test.example")
    page.get_by_label("Password").fill("not-the-password-at-all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    screenshot(page, "login-wrong-password")


def test_api_docs_render_from_vendored_files(page: Page, live_server):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None)
    page.goto(live_server.url + "/docs")
    expect(page.get_by_text("/api/v1/priorities").first).to_be_visible()
    screenshot(page, "api-docs")
    assert outside == [] and errors == []


ROLE_USERS = {
    "admin": {},
    "regional_reviewer": {},
    "country_officer": {"countries": ["KGZ"]},
    "donor_viewer": {"donors": ["NAVDONOR"]},
}
# What each role must see in the menu, and what it must not (when those pages exist).
MUST_SEE = {"admin": {"Users", "Periods", "Reference data", "API tokens"},
            "regional_reviewer": {"API tokens"}, "country_officer": {"API tokens"}, "donor_viewer": {"API tokens"}}
MUST_NOT_SEE = {"admin": set(), "regional_reviewer": {"Users", "Periods", "Reference data", "Import"},
                "country_officer": {"Users", "Periods", "Reference data", "Review queue"},
                "donor_viewer": {"Users", "Periods", "Reference data", "Review queue", "Import"}}


def _pages_that_exist(live_server, role: str) -> set[str]:
    """The menu entries of a role whose routes are registered (others arrive with later pages)."""
    from starlette.routing import NoMatchFound

    from mne.app import create_app
    from mne.config import Settings
    from mne.web import NAVIGATION

    app = create_app(Settings(database_url=live_server.db_url, secret_key="x" * 32))
    labels = set()
    for label, name, roles in NAVIGATION:
        try:
            app.url_path_for(name)
        except NoMatchFound:
            continue
        if role in roles:
            labels.add(label)
    return labels


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_each_role_sees_its_navigation(page: Page, live_server, role):
    from sqlmodel import select

    from mne.users.models import User

    email = f"nav.{role}@test.example"
    with live_server.session() as session:
        if session.exec(select(User).where(User.email == email)).first() is None:
            factories.donor(session, "NAVDONOR")
            factories.user(session, role, email=email, **ROLE_USERS[role])
            session.commit()
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_visible()
    shown = set(nav.get_by_role("link").all_inner_texts())
    assert MUST_SEE[role] <= shown, shown
    assert not (MUST_NOT_SEE[role] & shown), shown
    assert shown == _pages_that_exist(live_server, role)
    screenshot(page, f"nav-{role}")
    # Keyboard: the skip link is the first stop on the page.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
