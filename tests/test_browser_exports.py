"""A regional reviewer finds the donor exports in a real browser: on the exports page (the IPTT
for one donor, its row count, the file itself) and in the dashboard's Download menu, opened
with the keyboard; the page works without JavaScript and reads at 390 px.

The data (committed in the live server's database, shared with the other browser tests) is
two projects of a donor of its own, BXD, so that the counts are this module's alone.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.conftest import screenshot
from tests.progress_world import World, open_periods

pytestmark = pytest.mark.browser

DONOR = "BXD"
QUARTERS = ("2022Q1", "2022Q2")


@pytest.fixture(scope="module")
def reviewer(live_server):
    from mne.reference.models import Period

    with live_server.session() as session:
        user = factories.user(session, "regional_reviewer", email="exports.reviewer@test.example")
        closed = [code for code in QUARTERS if session.get(Period, code).status == "closed"]
        open_periods(session, *QUARTERS)
        world = World(session)
        kgz = world.project("BX-KGZ", countries=("KGZ",), donors=(DONOR,))
        a = world.indicator(kgz, "A", {"KGZ": (0, 100)})
        world.indicator(kgz, "B", {"KGZ": (0, 10)})
        world.report(a, "KGZ", "2022Q1", 40)
        world.report(a, "KGZ", "2022Q2", 20, "submitted")
        srb = world.project("BX-SRB", countries=("SRB",), priorities=("SP4",), donors=(DONOR,))
        c = world.indicator(srb, "C", {"SRB": (0, 50)}, priority="SP4")
        world.report(c, "SRB", "2022Q1", 10)
        for code in closed:  # leave the periods as other browser tests expect them
            session.get(Period, code).status = "closed"
        session.commit()
        return user.email


def sign_in(page: Page, live_server, email: str) -> None:
    factories.sign_in_page(page, live_server, email)
    page.goto(live_server.url + "/")  # a reviewer lands on the review overview
    expect(page.get_by_role("heading", name="Results dashboard")).to_be_visible()


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"] + 1, \
        "the page scrolls sideways"


def settled(page: Page) -> None:
    """The form's last answer is in and htmx has set it up (a person is never quicker than that)."""
    expect(page.locator("#export-form.htmx-request, #export-form.htmx-swapping, #export-form.htmx-settling,"
                        " #export-form .htmx-settling")).to_have_count(0)


def test_reviewer_downloads_the_iptt_of_a_donor(page: Page, live_server, reviewer, tmp_path):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server, reviewer)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exports").click()
    expect(page.get_by_role("heading", name="Exports", exact=True)).to_be_visible()
    page.get_by_label("IPTT (CSV)").check()
    expect(page.locator(".export-outcome .eyebrow")).to_have_text("IPTT (CSV)")
    expect(page).to_have_url(re.compile(r"format=iptt_csv"))
    settled(page)
    expect(page.get_by_label("IPTT (CSV)")).to_be_focused()  # the form swapped in keeps the focus
    page.keyboard.press("ArrowDown")  # radio buttons by keyboard: the next file
    expect(page).to_have_url(re.compile(r"format=iptt_xlsx"))
    settled(page)
    expect(page.get_by_label("IPTT (Excel)")).to_be_focused()
    page.get_by_label("Donor").select_option(DONOR)
    expect(page).to_have_url(re.compile(rf"donor={DONOR}"))
    expect(page.locator(".export-count")).to_have_text(re.compile(r"^\s*3\s+indicator lines\s*$"))
    expect(page.get_by_label("IPTT (Excel)")).to_be_checked()  # and the choices
    settled(page)

    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile(r"^Download")).click()
    file = info.value
    assert file.suggested_filename.startswith("mne-iptt-"), file.suggested_filename
    assert re.fullmatch(rf"mne-iptt-{DONOR}-\d{{4}}Q\d\.xlsx", file.suggested_filename), file.suggested_filename
    saved = tmp_path / file.suggested_filename
    file.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"  # a workbook (a zip), not an error page

    # A backwards period range is refused beside its field, and no file is offered.
    page.get_by_label("Country or territory").select_option("KGZ")
    expect(page.locator(".export-count")).to_have_text(re.compile(r"^\s*2\s+indicator lines\s*$"))
    settled(page)
    page.get_by_label("From period").select_option("2022Q2")
    settled(page)
    page.get_by_label("To period").select_option("2022Q1")
    expect(page.locator("#export-from-error")).to_contain_text("backwards")
    expect(page.get_by_label("From period")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("link", name=re.compile(r"^Download"))).to_have_count(0)
    expect(page.locator("#live-region")).to_contain_text("the period range is backwards")
    settled(page)
    page.get_by_label("To period").select_option("2022Q2")
    expect(page.locator(".export-count")).to_have_text(re.compile(r"^\s*2\s+indicator lines\s*$"))
    expect(page.locator(".export-facts")).to_contain_text("2022Q2 to 2022Q2")
    expect(page.locator(".export-filename")).to_have_text(f"mne-iptt-KGZ-{DONOR}-2022Q2.xlsx")
    settled(page)
    assert errors == []

    # Screenshots last: taking one leaves an empty style attribute on the inputs (Playwright
    # hides the caret), which htmx's next swap would copy over, against the page's CSP.
    screenshot(page, "exports-wide")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "exports-narrow")
    no_sideways_scroll(page)


def test_reviewer_downloads_results_from_the_dashboard_menu_with_the_keyboard(page: Page, live_server, reviewer):
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server, reviewer)
    page.get_by_label("Donor").select_option(DONOR)
    expect(page).to_have_url(re.compile(rf"donor={DONOR}"))
    expect(page.locator(".summary-line")).to_contain_text("3 indicator lines")

    summary = page.locator("details.download-menu > summary")
    summary.focus()
    page.keyboard.press("Enter")
    menu = page.locator("details.download-menu")
    expect(menu).to_have_attribute("open", "")
    expect(menu).to_contain_text(f"With Donor: {DONOR}")
    page.keyboard.press("Tab")
    expect(menu.get_by_role("link", name="Results (CSV)")).to_be_focused()
    screenshot(page, "dashboard-download-menu-wide")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    file = info.value
    assert file.suggested_filename.startswith(f"mne-results-{DONOR}-"), file.suggested_filename
    rows = list(csv.DictReader(io.StringIO(open(file.path(), encoding="utf-8-sig").read())))
    assert sorted((r["project_code"], r["period"], r["status"]) for r in rows) == [
        ("BX-KGZ", "2022Q1", "approved"), ("BX-KGZ", "2022Q2", "submitted"), ("BX-SRB", "2022Q1", "approved")]
    page.keyboard.press("Escape")  # the menu is a disclosure: Enter on its summary closes it too
    summary.focus()
    page.keyboard.press("Enter")
    expect(menu).not_to_have_attribute("open", "")

    # "More options…" opens the exports page with the dashboard's choices.
    summary.click()
    menu.get_by_role("link", name="More options…").click()
    expect(page.get_by_role("heading", name="Exports", exact=True)).to_be_visible()
    expect(page.get_by_label("Donor")).to_have_value(DONOR)
    expect(page.locator(".export-count")).to_have_text(re.compile(r"^\s*3\s+results\s*$"))

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + f"/dashboard?donor={DONOR}")
    page.locator("details.download-menu > summary").click()
    expect(page.locator("details.download-menu").get_by_role("link", name="IPTT (Excel)")).to_be_visible()
    screenshot(page, "dashboard-download-menu-narrow")
    no_sideways_scroll(page)


def test_the_exports_page_works_without_javascript(browser, live_server, reviewer):
    context = browser.new_context(java_script_enabled=False, accept_downloads=True)
    page = context.new_page()
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(reviewer)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server.url + "/exports")
    page.get_by_label("IPTT (CSV)").check()
    page.get_by_label("Donor").select_option(DONOR)
    page.get_by_label("Progress as of").select_option("2022Q2")
    page.get_by_role("button", name="Count the rows").click()
    expect(page).to_have_url(re.compile(rf"format=iptt_csv.*donor={DONOR}.*as_of=2022Q2"))
    expect(page.locator(".export-count")).to_have_text(re.compile(r"^\s*3\s+indicator lines\s*$"))
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile(r"^Download")).click()
    assert info.value.suggested_filename == f"mne-iptt-{DONOR}-2022Q2.csv"
    context.close()
