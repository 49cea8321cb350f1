"""The conversation on a result in a real browser: a reviewer returns a result with a note, the
officer answers it from the keyboard alone, both see the rounds in order with who and when,
markup stays text, and the page fits a 390 px phone. Screenshotted wide and at 390 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.conftest import screenshot

pytestmark = pytest.mark.browser

OFFICER = "conv.browser.officer@test.example"
REVIEWER = "conv.browser.reviewer@test.example"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def submitted(live_server):
    """A submitted Kyrgyz result, its officer and a reviewer (both named)."""
    with live_server.session() as session:
        factories.user(session, "country_officer", countries=["ARM"], email=OFFICER).name = "Aida Osmonova"
        factories.user(session, "regional_reviewer", email=REVIEWER).name = "Rustam Karimov"
        proj = factories.project(session, "BR-CONV", countries=("ARM",), start="2024-01-01", end="2024-12-31")
        ind = factories.indicator(session, proj, "OC1")
        result = factories.result(session, ind, "ARM", "2024Q1", value=120, status="submitted")
        session.commit()
        return result.id


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Email")).to_be_visible()


def test_a_return_note_and_the_officers_answer(page: Page, live_server, submitted):
    factories.sign_in_page(page, live_server, REVIEWER)
    page.goto(f"{live_server.url}/results/{submitted}")
    conversation = page.get_by_role("region", name="Conversation")
    expect(conversation).to_contain_text("No comments yet.")
    page.get_by_label("Note for the officer").fill("Please attach the signed attendance lists <b>now</b>.")
    page.get_by_role("button", name="Return to the officer").click()
    expect(conversation).to_contain_text("Round 1: Returned by Rustam Karimov")
    expect(conversation).to_contain_text("Please attach the signed attendance lists <b>now</b>.")  # as typed, as text
    sign_out(page)

    factories.sign_in_page(page, live_server, OFFICER)
    page.goto(f"{live_server.url}/results/{submitted}")
    box = page.get_by_role("textbox", name="Add a comment")
    box.focus()
    page.keyboard.type("The lists are signed; they will follow next week.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Add the comment")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Your comment has been added")).to_be_visible()
    conversation = page.get_by_role("region", name="Conversation")
    rounds = conversation.locator("li.conv-round")
    expect(rounds).to_have_count(1)
    expect(rounds.first.locator("li.conv-comment")).to_have_count(1)
    expect(rounds.first.locator("li.conv-comment")).to_contain_text("Aida Osmonova")
    expect(rounds.first.locator("li.conv-comment")).to_contain_text("they will follow next week")
    assert page.locator("b", has_text="now").count() == 0  # the reviewer's markup never became markup
    screenshot(page, "comments-result-page")

    page.set_viewport_size(PHONE)
    page.reload()
    expect(conversation).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = conversation.get_by_role("textbox", name="Add a comment")
    assert box.bounding_box()["width"] <= PHONE["width"]
    conversation.scroll_into_view_if_needed()
    screenshot(page, "comments-result-page-390")
