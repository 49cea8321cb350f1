"""The country office's workflow in a real browser (issue 4, item 5): an officer registers a
project with two countries and two indicators, logs a quarter and submits it; a reviewer
returns one result with a note; the officer corrects it and submits again; the reviewer
approves; the grid shows it approved and locked. And a conflict: the same cell edited in two
tabs — the second save shows the current value, never a silent overwrite.

Every page built for the workflow is screenshotted wide and at 390 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from mne.results.models import Result
from tests import factories
from tests.conftest import screenshot

pytestmark = pytest.mark.browser

OFFICER = "journey.officer@test.example"
REVIEWER = "journey.reviewer@test.example"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def people(live_server):
    with live_server.session() as session:
        factories.user(session, "country_officer", countries=["KGZ", "TJK"], email=OFFICER, )
        factories.user(session, "regional_reviewer", email=REVIEWER)
        factories.donor(session, "JOURNEY", "Journey Foundation")
        session.commit()
    return OFFICER, REVIEWER


sign_in = factories.sign_in_page


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Email")).to_be_visible()


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def cell(page: Page, label: str):
    """The grid cell whose edit link is named after it ("OC1, Kyrgyzstan, 2024Q2")."""
    return page.locator("td.grid-cell").filter(has=page.get_by_role("link", name=re.compile(re.escape(label))))


def log_value(page: Page, label: str, value: str, **split: str) -> None:
    page.get_by_role("link", name=f"Log {label}").click()
    form = page.locator("td.grid-cell form")
    expect(form.get_by_role("textbox", name=f"Value of {label}")).to_be_focused()  # keyboard users land here
    form.get_by_role("textbox", name=f"Value of {label}").fill(value)
    for name, number in split.items():
        form.get_by_label(name.capitalize(), exact=True).fill(number)
    form.get_by_role("button", name=f"Save draft of {label}").click()
    expect(cell(page, label)).to_contain_text("Draft")


def test_officer_and_reviewer_journey(page: Page, live_server, people):
    sign_in(page, live_server, OFFICER)
    nav(page, "Projects")
    expect(page.get_by_role("heading", name="Projects", level=1)).to_be_visible()
    page.get_by_role("link", name="Register a project").click()

    # Register the project; a first try with the dates the wrong way round is refused beside the field.
    page.get_by_role("textbox", name="Code").fill("BR-JOURNEY")
    page.get_by_role("textbox", name="Title").fill("Reintegration of returnees in the Fergana valley")
    page.get_by_label("Summary").fill("Reintegration assistance for returning labour migrants.")
    page.get_by_label("Start date").fill("2024-01-01")
    page.get_by_label("End date").fill("2023-06-30")
    page.get_by_label("Lead office").select_option("IOM Bishkek")
    page.get_by_role("group", name="Central Asia").get_by_label("Tajikistan").check()
    expect(page.get_by_role("group", name="Central Asia").get_by_label("Kyrgyzstan")).to_be_checked()
    page.get_by_label("Primary priority").select_option("SP2")
    page.get_by_role("group", name="Other priorities it also serves").get_by_label("SP1 · Resilience").check()
    page.get_by_label("Donor 1", exact=True).select_option("JOURNEY")
    page.get_by_label("Amount (USD) of donor 1").fill("250000")
    page.get_by_label("Gender equality").check()
    screenshot(page, "project-form")
    page.get_by_role("button", name="Register project").click()
    expect(page.locator("#end_date-error")).to_contain_text("on or after the start date")
    expect(page.get_by_label("Tajikistan")).to_be_checked()  # what was typed is kept
    expect(page.get_by_label("Amount (USD) of donor 1")).to_have_value("250000")
    screenshot(page, "project-form-error")
    page.set_viewport_size(PHONE)
    screenshot(page, "project-form-error-narrow")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("End date").fill("2025-06-30")
    page.get_by_role("button", name="Register project").click()
    expect(page.get_by_role("status")).to_contain_text("The project has been registered")
    expect(page.get_by_role("heading", level=1)).to_contain_text("BR-JOURNEY")

    # Two indicators, each with a baseline and target per country.
    page.get_by_role("link", name="Add an indicator").click()
    page.get_by_role("textbox", name="Code").fill("OC1")
    page.get_by_label("Statement").fill("Number of returnees receiving reintegration assistance")
    page.get_by_label("Strategic priority").select_option("SP2")
    page.get_by_label("Disaggregation").select_option("sex")
    page.get_by_label("Target for Kyrgyzstan").fill("400")
    page.get_by_label("Target for Tajikistan").fill("0")
    page.get_by_role("button", name="Add indicator").click()
    expect(page.locator("#target-TJK-error")).to_contain_text("greater than 0")
    screenshot(page, "indicator-form-error")
    page.get_by_label("Target for Tajikistan").fill("100")
    page.get_by_text("Per-period targets (optional milestones)").click()
    page.get_by_label("Target of Kyrgyzstan for 2024Q2").fill("80")
    screenshot(page, "indicator-form")
    page.get_by_role("button", name="Add indicator").click()
    expect(page.get_by_role("status")).to_contain_text("The indicator has been added")
    page.get_by_role("link", name="Add an indicator").click()
    page.get_by_role("textbox", name="Code").fill("OC2")
    page.get_by_label("Statement").fill("Percentage of assisted returnees employed six months later")
    page.get_by_label("Measure").select_option("percentage")
    page.get_by_label("Baseline for Kyrgyzstan").fill("20")
    page.get_by_label("Target for Kyrgyzstan").fill("60")
    page.get_by_label("Baseline for Tajikistan").fill("10")
    page.get_by_label("Target for Tajikistan").fill("50")
    page.get_by_role("button", name="Add indicator").click()
    expect(page.get_by_role("heading", name=re.compile("OC2"))).to_be_visible()
    screenshot(page, "project-page")
    page.set_viewport_size(PHONE)
    screenshot(page, "project-page-narrow")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})

    # Log 2024Q2 in the grid, inline, and submit the quarter.
    page.get_by_role("link", name="Results grid").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Results of BR-JOURNEY")
    page.get_by_role("link", name="Log OC1, Kyrgyzstan, 2024Q2").click()
    screenshot(page, "results-grid-cell-form")
    page.get_by_role("textbox", name="Value of OC1, Kyrgyzstan, 2024Q2").fill("120")
    page.get_by_label("Female", exact=True).fill("70")
    page.get_by_label("Male", exact=True).fill("40")
    page.get_by_role("button", name="Save draft of OC1, Kyrgyzstan, 2024Q2").click()
    expect(page.locator("td.grid-cell form .field-error").first).to_contain_text("add up to the value 120")
    screenshot(page, "results-grid-cell-error")
    page.get_by_label("Male", exact=True).fill("50")
    page.get_by_role("button", name="Save draft of OC1, Kyrgyzstan, 2024Q2").click()
    expect(cell(page, "OC1, Kyrgyzstan, 2024Q2")).to_contain_text("120")
    expect(cell(page, "OC1, Kyrgyzstan, 2024Q2")).to_contain_text("Draft")
    expect(page.locator("#live-region")).to_contain_text("Saved OC1, Kyrgyzstan, 2024Q2")
    log_value(page, "OC1, Tajikistan, 2024Q2", "30")
    log_value(page, "OC2, Kyrgyzstan, 2024Q2", "35")
    log_value(page, "OC2, Tajikistan, 2024Q2", "18")
    screenshot(page, "results-grid-drafts")
    page.get_by_role("button", name="Submit 2024Q2").click()
    expect(page.get_by_role("status").first).to_contain_text("4 results of 2024Q2 submitted for review")
    expect(cell(page, "OC1, Kyrgyzstan, 2024Q2")).to_contain_text("Submitted")
    sign_out(page)

    # The reviewer returns one result with a note, and approves the others.
    sign_in(page, live_server, REVIEWER)
    nav(page, "Review queue")
    page.get_by_label("Project code").fill("BR-JOURNEY")
    expect(page).to_have_url(re.compile(r"/review\?project=BR-JOURNEY$"))  # the filter is in the URL
    expect(page.locator("#queue")).to_contain_text("4 results awaiting review match these filters")
    screenshot(page, "review-queue")
    returned = "BR-JOURNEY OC1, Kyrgyzstan, 2024Q2"
    page.get_by_role("button", name=f"Return {returned}").click()
    expect(page.locator("tr", has_text="OC1").filter(has_text="Kyrgyzstan").locator(".field-error")).to_contain_text("Say what needs to change")
    page.get_by_label(f"Note for the officer about {returned}").fill("Attach the attendance lists: 120 looks high.")
    page.get_by_role("button", name=f"Return {returned}").click()
    expect(page.get_by_role("row", name=re.compile("OC1.*Kyrgyzstan"))).to_contain_text("Returned to the officer")
    for other in ("OC1, Tajikistan", "OC2, Kyrgyzstan", "OC2, Tajikistan"):
        page.get_by_role("button", name=f"Approve BR-JOURNEY {other}, 2024Q2").click()
        expect(page.get_by_role("row", name=re.compile(other.replace(", ", ".*")))).to_contain_text("Approved")
    screenshot(page, "review-queue-reviewed")
    page.set_viewport_size(PHONE)
    screenshot(page, "review-queue-narrow")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_out(page)

    # The officer sees the note, corrects the value and submits again.
    sign_in(page, live_server, OFFICER)
    page.goto(live_server.url + "/projects/BR-JOURNEY/results")
    target = cell(page, "OC1, Kyrgyzstan, 2024Q2")
    expect(target).to_contain_text("Returned")
    expect(target).to_contain_text("Attach the attendance lists")
    expect(cell(page, "OC2, Kyrgyzstan, 2024Q2")).to_contain_text("Approved · locked")
    expect(cell(page, "OC2, Kyrgyzstan, 2024Q2").get_by_role("link", name=re.compile("^Edit"))).to_have_count(0)
    page.get_by_role("link", name="Edit OC1, Kyrgyzstan, 2024Q2").click()
    expect(page.locator(".review-note")).to_contain_text("Attach the attendance lists")
    page.get_by_role("textbox", name="Value of OC1, Kyrgyzstan, 2024Q2").fill("95")
    page.get_by_label("Female", exact=True).fill("60")
    page.get_by_label("Male", exact=True).fill("35")
    page.get_by_label("Means of verification").fill("Attendance lists of the two cohorts")
    page.get_by_role("button", name="Save draft of OC1, Kyrgyzstan, 2024Q2").click()
    expect(target).to_contain_text("95")
    page.get_by_role("button", name="Submit 2024Q2").click()
    expect(page.get_by_role("status").first).to_contain_text("1 result of 2024Q2 submitted for review")
    sign_out(page)

    # The reviewer approves it from the result page.
    sign_in(page, live_server, REVIEWER)
    nav(page, "Review queue")
    page.get_by_role("link", name="BR-JOURNEY · OC1").click()
    expect(page.get_by_text("Attendance lists of the two cohorts")).to_be_visible()
    screenshot(page, "result-page-submitted")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("approved")
    screenshot(page, "result-page-approved")
    page.set_viewport_size(PHONE)
    screenshot(page, "result-page-narrow")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_out(page)

    # The grid shows it approved and locked, with nothing to edit.
    sign_in(page, live_server, OFFICER)
    page.goto(live_server.url + "/projects/BR-JOURNEY/results")
    expect(target).to_contain_text("95")
    expect(target).to_contain_text("Approved · locked")
    expect(target.get_by_role("link", name=re.compile("^Edit"))).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("^Edit .*2024Q2"))).to_have_count(0)
    screenshot(page, "results-grid-approved")
    page.set_viewport_size(PHONE)
    screenshot(page, "results-grid-narrow")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Without JavaScript the cell's link is a page of its own; a locked one says why.
    page.goto(live_server.url + "/projects/BR-JOURNEY/results")
    target.get_by_role("link", name=re.compile("^Details")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("OC1 · Kyrgyzstan · 2024Q2")
    expect(page.locator(".locked-reason")).to_contain_text("Approved and locked")


@pytest.fixture(scope="module")
def conflict_project(live_server, people):
    with live_server.session() as session:
        proj = factories.project(session, "BR-CONFLICT", countries=("KGZ",), priorities=("SP3",),
                                 start="2024-01-01", end="2024-12-31")
        ind = factories.indicator(session, proj, "OP1", priority="SP3", targets={"KGZ": (0, 500)})
        session.commit()
        return ind.id


def test_same_cell_in_two_tabs_never_overwrites_silently(page: Page, live_server, conflict_project):
    sign_in(page, live_server, OFFICER)
    grid = live_server.url + "/projects/BR-CONFLICT/results"
    label = "OP1, Kyrgyzstan, 2024Q3"
    page.goto(grid)
    log_value(page, label, "10")
    # Two tabs of the same browser open the same cell…
    first, second = page, page.context.new_page()
    first.goto(grid)
    second.goto(grid)
    for tab in (first, second):
        tab.get_by_role("link", name=f"Edit {label}").click()
        expect(tab.get_by_role("textbox", name=f"Value of {label}")).to_have_value("10")
    # …the first saves 11…
    first.get_by_role("textbox", name=f"Value of {label}").fill("11")
    first.get_by_role("button", name=f"Save draft of {label}").click()
    expect(cell(first, label)).to_contain_text("11")
    # …the second, still holding the old version, saves 12: refused, with what is there now.
    second.get_by_role("textbox", name=f"Value of {label}").fill("12")
    second.get_by_role("button", name=f"Save draft of {label}").click()
    alert = second.get_by_role("alert")
    expect(alert).to_contain_text("someone else changed this result")
    expect(alert).to_contain_text("It now holds 11 (draft)")
    expect(alert).to_contain_text(OFFICER)
    expect(second.get_by_role("textbox", name=f"Value of {label}")).to_have_value("12")
    screenshot(second, "results-grid-conflict")
    second.set_viewport_size(PHONE)
    screenshot(second, "results-grid-conflict-narrow")
    second.set_viewport_size({"width": 1280, "height": 900})
    with live_server.session() as session:
        stored = session.exec(select(Result).where(Result.indicator_id == conflict_project)).one()
        assert (stored.value, stored.version) == (11, 2)
    # Keeping theirs shows the current value; nothing was overwritten.
    second.get_by_role("button", name="Keep theirs").click()
    expect(cell(second, label)).to_contain_text("11")
    second.close()


@pytest.mark.parametrize("path, name", [
    ("/projects", "projects-list"),
    ("/projects/new", "project-new"),
    ("/projects/BR-CONFLICT", "project-conflict-page"),
    ("/projects/BR-CONFLICT/indicators/new", "indicator-new"),
    ("/projects/BR-CONFLICT/results", "results-grid-officer"),
    ("/results/edit?indicator_id={ind}&country=KGZ&period=2024Q4", "result-edit-page"),
])
def test_officer_pages_fit_a_phone(page: Page, live_server, conflict_project, path, name):
    sign_in(page, live_server, OFFICER)
    page.goto(live_server.url + path.format(ind=conflict_project))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    screenshot(page, name)
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # Wide tables scroll inside their own box; the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, f"{name}-narrow")


def test_projects_list_filters_stay_in_the_url(page: Page, live_server, conflict_project):
    sign_in(page, live_server, OFFICER)
    page.goto(live_server.url + "/projects")
    page.get_by_label("Code or title contains").fill("conflict")
    expect(page.locator("#project-results")).to_contain_text("1 project match")
    expect(page).to_have_url(re.compile(r"/projects\?q=conflict$"))
    page.get_by_label("Status").select_option("closed")
    expect(page.locator("#project-results")).to_contain_text("0 projects match")
    page.reload()  # a bookmarked view shows the same
    expect(page.get_by_label("Status")).to_have_value("closed")
    expect(page.get_by_label("Code or title contains")).to_have_value("conflict")
