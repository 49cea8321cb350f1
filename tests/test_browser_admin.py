"""The admin journeys in a real browser: add a user, close a period, create an API token —
and every admin page usable on a 390 px wide phone screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.conftest import screenshot

pytestmark = pytest.mark.browser

ADMIN = "browser.admin@test.example"


@pytest.fixture(scope="module")
def admin(live_server):
    with live_server.session() as session:
        factories.user(session, "admin", email=ADMIN)
        session.commit()
    return ADMIN


def sign_in(page: Page, live_server, email: str, password: str = factories.PASSWORD) -> None:
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # Each role lands on its own home (an officer on "My reporting"); signed in either way.
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_admin_adds_a_user_who_then_creates_a_token(page: Page, live_server, admin):
    sign_in(page, live_server, admin)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Add a user").click()
    page.get_by_label("Email").fill("browser.officer@test.example")
    page.get_by_label("Name").fill("Nino Beridze")
    page.get_by_label("Role").select_option("country_officer")
    page.get_by_role("group", name="South Caucasus").get_by_label("Georgia").check()
    page.get_by_label("Initial password").fill("short")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("#password-error")).to_contain_text("at least 12 characters")
    expect(page.get_by_label("Georgia")).to_be_checked()  # what was typed is kept
    screenshot(page, "admin-new-user-error")
    page.get_by_label("Initial password").fill("Black-Sea-Mountains-77")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_contain_text("The user has been created")
    expect(page.get_by_role("heading", name="browser.officer@test.example")).to_be_visible()
    screenshot(page, "admin-user")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, "browser.officer@test.example", "Black-Sea-Mountains-77")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("My script")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_role("textbox", name="Token").input_value()
    assert secret.startswith("mne_")
    expect(page.get_by_text("Copy it now: it is shown only this once.")).to_be_visible()
    screenshot(page, "account-token-created")
    page.goto(live_server.url + "/account/tokens")  # coming back: the secret is gone
    expect(page.get_by_role("textbox", name="Token")).to_have_count(0)
    page.get_by_role("button", name="Revoke token My script").click()
    expect(page.get_by_role("status")).to_contain_text("revoked")


def test_admin_closes_a_period_with_a_reason(page: Page, live_server, admin):
    sign_in(page, live_server, admin)
    page.goto(live_server.url + "/admin/periods")
    page.get_by_label("Reason for closing 2024Q4 (optional)").fill("annual report submitted")
    page.get_by_role("button", name="Close 2024Q4").click()
    expect(page.get_by_role("status")).to_contain_text("has been closed")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="2024Q4"))
    expect(row).to_contain_text("Closed")
    page.get_by_role("button", name="Reopen 2024Q4").click()
    expect(row).to_contain_text("Open")


@pytest.mark.parametrize("path, name", [
    ("/admin/users", "admin-users"),
    ("/admin/users/new", "admin-new-user"),
    ("/admin/periods", "admin-periods"),
    ("/admin/reference", "admin-reference"),
    ("/account/tokens", "account-tokens"),
])
def test_admin_pages_fit_a_phone(page: Page, live_server, admin, path, name):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, admin)
    page.goto(live_server.url + path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # Wide tables scroll inside their own box; the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, f"{name}-narrow")
