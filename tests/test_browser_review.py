"""The reviewer's bulk approval in a real browser (issue 14, part 4): the queue shows each row's
context; the reviewer selects every unflagged row of the page, approves them in one action,
sees the count of waiting results drop, and the dashboard's figures move. Screenshotted at
1366 px and at 390 px."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from mne.results.models import Result
from tests import factories
from tests.conftest import screenshot
from tests.progress_world import World, open_periods

pytestmark = pytest.mark.browser

REVIEWER = "bulk.reviewer@test.example"
WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def queue(live_server) -> dict:
    """BR-BULK: two unflagged results and one flagged (50 after 10: more than 3×) waiting."""
    with live_server.session() as session:
        open_periods(session, "2022Q1", "2022Q2", "2022Q3", "2022Q4")
        world = World(session)
        project = world.project("BR-BULK", countries=("KGZ", "TJK"))
        i1 = world.indicator(project, "I1", {"KGZ": (0, 400), "TJK": (0, 100)})
        i2 = world.indicator(project, "I2", {"KGZ": (0, 200)})
        world.report(i1, "KGZ", "2022Q1", 40)
        world.report(i1, "TJK", "2022Q1", 10)
        ids = {"kgz": world.report(i1, "KGZ", "2022Q2", 80, "submitted",
                                   narrative="Reached through the mobile teams in Osh and Jalal-Abad"),
               "tjk": world.report(i1, "TJK", "2022Q2", 50, "submitted"),
               "i2": world.report(i2, "KGZ", "2022Q2", 20, "submitted")}
        for key in ("kgz", "i2"):  # sent in time: no "late" flag
            session.get(Result, ids[key]).first_submitted_at = datetime(2022, 7, 1, tzinfo=UTC)
        factories.user(session, "regional_reviewer", email=REVIEWER)
        session.commit()
    return {"i1": i1, **ids}


def actual_on_dashboard(page: Page, live_server, indicator_id: int) -> str:
    page.goto(f"{live_server.url}/dashboard/indicators/{indicator_id}/KGZ?as_of=2022Q2")
    return page.locator("dt", has_text="Actual").locator("xpath=following-sibling::dd[1]").first.inner_text()


def test_reviewer_approves_all_unflagged_rows_at_once(page: Page, live_server, queue):
    page.set_viewport_size(WIDE)
    factories.sign_in_page(page, live_server, REVIEWER)
    assert actual_on_dashboard(page, live_server, queue["i1"]) == "40"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review queue").click()
    page.get_by_label("Project code").fill("BR-BULK")
    count = page.locator("#queue-count")
    expect(count).to_have_text("3 results awaiting review match these filters.")
    kgz = page.locator(f"#review-{queue['kgz']}")
    expect(kgz).to_contain_text("40 in 2022Q1 (approved)")
    expect(kgz).to_contain_text("10 % → 30 % once approved")
    expect(page.locator(f"#review-{queue['tjk']}")).to_contain_text("more than 3× the previous value (10)")
    screenshot(page, "review-queue-bulk-1366")

    page.get_by_role("link", name="Select all unflagged on this page (2)").click()
    expect(page.get_by_label("Select BR-BULK I1, Kyrgyzstan, 2022Q2")).to_be_checked()
    expect(page.get_by_label("Select BR-BULK I2, Kyrgyzstan, 2022Q2")).to_be_checked()
    expect(page.get_by_label("Select BR-BULK I1, Tajikistan, 2022Q2")).not_to_be_checked()
    expect(page.locator("[data-selected-count]")).to_have_text("2")
    page.get_by_role("button", name="Approve selected").click()

    expect(page.locator("#queue .alert-success")).to_have_text("Approved 2 results.")
    expect(count).to_have_text("1 result awaiting review matches these filters.")
    expect(page.locator(f"#review-{queue['kgz']}")).to_have_count(0)
    expect(page.locator(f"#review-{queue['tjk']}")).to_be_visible()
    assert actual_on_dashboard(page, live_server, queue["i1"]) == "120"


def test_the_queue_at_390_px(page: Page, live_server, queue):
    page.set_viewport_size(PHONE)
    factories.sign_in_page(page, live_server, REVIEWER)
    page.goto(f"{live_server.url}/review?project=BR-BULK")
    expect(page.locator("#queue-count")).to_be_visible()
    checkbox = page.get_by_label("Select BR-BULK I1, Tajikistan, 2022Q2")
    checkbox.check()  # large enough to tap, and labelled
    expect(page.locator("[data-selected-count]")).to_have_text("1")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the queue scrolls sideways at 390 px ({width} px wide)"
    screenshot(page, "review-queue-bulk-390")
