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
