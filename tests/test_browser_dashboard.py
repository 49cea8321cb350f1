"""A regional reviewer reads the dashboard in a real browser: filters, drills down, sees why.

The data (committed in the live server's database) is SPEC §5's worked example in Kyrgyzstan
plus a Serbian and a Kosovo project, built through the real services.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.conftest import screenshot
from tests.progress_world import build_spec_example, open_periods

pytestmark = pytest.mark.browser

QUARTERS = ("2022Q1", "2022Q2", "2022Q3", "2022Q4")


@pytest.fixture(scope="module")
def reviewer(live_server):
    from mne.reference.models import Period

    with live_server.session() as session:
        user = factories.user(session, "regional_reviewer", email="dashboard.reviewer@test.example")
        closed = [code for code in QUARTERS if session.get(Period, code).status == "closed"]
        open_periods(session, *QUARTERS)
        build_spec_example(session, "BR")
        for code in closed:  # leave the periods as other browser tests expect them
            session.get(Period, code).status = "closed"
        session.commit()
        return user.email


sign_in = factories.sign_in_page


def test_reviewer_filters_the_dashboard_and_drills_down_to_a_line(page: Page, live_server, reviewer):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, reviewer)  # a reviewer lands on the review overview
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()

    # The dashboard.
    expect(page.get_by_role("heading", name="Results dashboard")).to_be_visible()
    expect(page.get_by_role("heading", name="Strategic priorities")).to_be_visible()
    expect(page.locator("table.matrix")).to_be_visible()
    screenshot(page, "dashboard-wide")

    # Period 2022Q4: the htmx swap keeps the page and puts the filter in the address bar.
    page.get_by_label("Period (as of)").select_option("2022Q4")
    expect(page).to_have_url(re.compile(r"as_of=2022Q4"))
    expect(page.locator(".summary-line")).to_contain_text("As of 2022Q4")
    page.get_by_label("Country or territory").select_option("KGZ")
    expect(page).to_have_url(re.compile(r"country=KGZ"))
    # The example's three lines: 1 on track, 1 off track, 1 no data; mean progress (0.5 + 0.25) / 2.
    expect(page.locator(".summary-line")).to_contain_text("3 indicator lines")
    expect(page.locator(".summary-line")).to_contain_text("mean progress 38 %")

    page.get_by_label("Include pending results").check()
    expect(page).to_have_url(re.compile(r"include_pending=true"))
    expect(page.locator(".provisional-note")).to_be_visible()
    screenshot(page, "dashboard-filtered-provisional")

    # Matrix cell SP1 × Central Asia -> the subregion, then Kyrgyzstan, the project, the line.
    page.get_by_role("link", name=re.compile(r"^SP1 in Central Asia")).click()
    expect(page.get_by_role("heading", name="SP1 in Central Asia")).to_be_visible()
    page.locator("table.groups").get_by_role("link", name="Kyrgyzstan").click()
    expect(page.get_by_role("heading", name="SP1 in Kyrgyzstan")).to_be_visible()
    page.locator("table.groups").get_by_role("link", name="BR-KGZ").click()
    expect(page.get_by_role("heading", name="Project BR-KGZ")).to_be_visible()
    page.get_by_role("link", name="I1", exact=True).click()

    expect(page.get_by_role("heading", name=re.compile(r"^I1: "))).to_be_visible()
    status = page.locator(".line-status")
    expect(status).to_contain_text("on track")
    expect(status.locator("dd").first).to_have_text("230")  # pending included: 50 + 70 + 30 + 80
    expect(page.get_by_text("counted (pending: provisional)")).to_be_visible()
    expect(page.locator("svg.line-svg")).to_be_visible()
    screenshot(page, "dashboard-line-wide")

    # Without pending results the Q3 value is not counted, and the page says why.
    page.get_by_label("Include pending results").uncheck()
    expect(page.locator(".line-status dd").first).to_have_text("200")
    expect(page.get_by_text("not counted: submitted, awaiting approval")).to_be_visible()

    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "dashboard-line-narrow")
    page.goto(live_server.url + "/dashboard?as_of=2022Q4")
    expect(page.locator("table.matrix")).to_be_visible()
    screenshot(page, "dashboard-narrow")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1, "the page scrolls sideways"
    assert errors == []


def test_kosovo_is_listed_with_its_footnote(page: Page, live_server, reviewer):
    sign_in(page, live_server, reviewer)
    page.goto(live_server.url + "/dashboard?as_of=2022Q4&subregion=WB")
    expect(page.locator("table.completeness")).to_contain_text("Kosovo")
    expect(page.locator("#fn-kosovo")).to_contain_text("United Nations Security Council resolution 1244 (1999)")
    page.goto(live_server.url + "/dashboard/countries/XKX?as_of=2022Q4")
    expect(page.get_by_role("heading", name=re.compile("Kosovo"))).to_be_visible()
    expect(page.locator("#fn-kosovo")).to_be_visible()
    # The returned result is listed as not counted, with its reason.
    page.get_by_role("link", name="S1", exact=True).click()
    expect(page.get_by_text("not counted: returned for correction")).to_be_visible()


def test_dashboard_works_without_javascript(browser, live_server, reviewer):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, reviewer)
    page.goto(live_server.url + "/dashboard")
    page.get_by_label("Period (as of)").select_option("2022Q4")
    page.get_by_label("Strategic priority").select_option("SP4")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"priority=SP4"))
    expect(page.locator(".summary-line")).to_contain_text("As of 2022Q4")
    page.get_by_role("link", name="SP4", exact=True).first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^SP4 · Governance"))).to_be_visible()
    context.close()
