"""The homes after sign-in (issue 14, part 2): an officer's "My reporting" (what is due now and
what is overdue, by period and project, with the state in words and one link per project and
period to its entry form), a reviewer's overview of the queue by country, and where sign-in
lands each role. The data is tests/test_due.py's world; the expectations are worked by hand."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from mne.base import utcnow
from mne.due import service as due
from tests import factories
from tests.conftest import screenshot
from tests.test_due import world  # the shared fixture

_ = world


def signed_in_as(client, session, role, **scope):
    user = factories.user(session, role, **scope)
    session.commit()
    client.cookies.clear()  # signed in already, the sign-in page would send us home
    factories.sign_in(client, user.email)
    return user


def text_of(html: str) -> str:
    """The page's words, tags dropped and spaces squeezed, for assertions on sentences."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def on(monkeypatch):
    """Set the day the pages judge due dates on."""
    def set_day(day: date) -> None:
        monkeypatch.setattr(due, "current_date", lambda: day)
    return set_day


# --- My reporting ------------------------------------------------------------------------------

def test_after_q1s_due_date_the_officer_sees_q1_overdue_and_q2_due(client, session, world, on):
    on(date(2024, 5, 1))
    signed_in_as(client, session, "country_officer", countries=["KGZ"])
    response = client.get("/reporting")
    assert response.status_code == 200, response.text
    words = text_of(response.text)
    # 2024Q1: 4 lines still owed (DUE-FREQ's Q; DUE-ST's I1 missing, I2 draft, I4 returned), due
    # 30 April, one day ago; 2024Q2: DUE-FREQ's Q and S, DUE-ST's five, due 30 July, in 90 days.
    assert "11 lines due, 4 overdue." in words
    assert "11 still to report (missing, draft or returned); 0 submitted or approved." in words
    assert words.index("2024Q1 · overdue") < words.index("2024Q2 · current period")
    assert "Due 30 April 2024 (due date passed 1 day ago) · 4 lines still to report" in words
    assert "Due 30 July 2024 (due in 90 days) · 7 lines" in words
    assert words.count("1 day overdue") == 4 and words.count("due in 90 days") == 1 + 7
    # The state in words, beside its badge's colour.
    assert "I2 Indicator I2 Kyrgyzstan Draft 1 day overdue" in words
    assert "I4 Indicator I4 Kyrgyzstan Returned 1 day overdue" in words
    assert "I1 Indicator I1 Kyrgyzstan Missing 1 day overdue" in words
    assert "I3 Indicator I3" not in words.split("2024Q2 · current period")[0]  # submitted: not overdue
    # One action per project and period, to that period's entry form.
    for code, period in (("DUE-FREQ", "2024Q1"), ("DUE-ST", "2024Q1"), ("DUE-FREQ", "2024Q2"), ("DUE-ST", "2024Q2")):
        assert response.text.count(f'href="/projects/{code}/results/period/{period}"') == 1
    assert "Enter 2024Q1<span class=\"visually-hidden\"> for DUE-ST</span>" in response.text


def test_before_the_due_date_every_state_of_the_current_period_is_shown(client, session, world, on):
    on(date(2024, 4, 20))
    signed_in_as(client, session, "country_officer", countries=["KGZ"])
    words = text_of(client.get("/reporting").text)
    assert "6 lines due, 0 overdue." in words and "overdue ·" not in words
    assert "1 missing, 1 draft, 1 submitted, 1 returned, 1 approved" in words  # DUE-ST in 2024Q1
    assert "I3 Indicator I3 Kyrgyzstan Submitted 30 Apr 2024" in words  # reported: the date alone
    assert "I5 Indicator I5 Kyrgyzstan Approved 30 Apr 2024" in words
    assert "I1 Indicator I1 Kyrgyzstan Missing due in 10 days" in words


def test_a_project_whose_lines_are_all_reported_is_opened_not_entered(client, session, world, on):
    on(date(2024, 4, 20))
    signed_in_as(client, session, "country_officer", countries=["TJK"])
    response = client.get("/reporting")
    # TJK has DUE-FREQ's Q line alone in 2024Q1, missing: to enter.
    assert "Enter 2024Q1" in response.text
    world.report(world.ids["Q"], "TJK", "2024Q1", 5, "submitted")
    session.commit()
    response = client.get("/reporting")
    assert "Open 2024Q1" in response.text and "Enter 2024Q1" not in response.text
    assert "1 line due, 0 overdue." in text_of(response.text)


def test_an_officer_sees_nothing_of_other_countries(client, session, world, on):
    on(date(2024, 5, 1))
    signed_in_as(client, session, "country_officer", countries=["TJK"])
    response = client.get("/reporting")
    words = text_of(response.text)
    assert "DUE-ST" not in words and "Kyrgyzstan" not in words
    # TJK: 2024Q1's Q overdue, 2024Q2's Q and S.
    assert "3 lines due, 1 overdue." in words
    signed_in_as(client, session, "country_officer", countries=["ARM"])
    words = text_of(client.get("/reporting").text)
    assert "0 lines due, 0 overdue." in words and "DUE-" not in words
    assert "Nothing is due in 2024Q2 for your countries, and nothing is overdue." in words


def test_my_reporting_is_for_officers_and_in_their_menu(client, session, world):
    signed_in_as(client, session, "country_officer", countries=["KGZ"])
    page = client.get("/reporting").text
    assert '<a href="/reporting" aria-current="page">My reporting</a>' in page
    signed_in_as(client, session, "regional_reviewer")
    assert client.get("/reporting").status_code == 403
    assert "My reporting" not in client.get("/review/overview").text


# --- the reviewer's overview -----------------------------------------------------------------

def test_the_reviewer_sees_the_queue_by_country_and_its_oldest(client, session, world):
    now = utcnow()
    # Waiting: DUE-ST's I3 in KGZ (submitted by the world just now) and three more, with times.
    q = type("Indicator", (), {"id": world.ids["Q"]})
    for country, period, age in (("TJK", "2024Q1", timedelta(days=12, hours=3)), ("TJK", "2024Q2", timedelta(days=3)),
                                 ("KGZ", "2024Q2", timedelta(days=5, hours=1))):
        r = factories.result(session, q, country, period, status="submitted")
        r.submitted_at = now - age
        session.add(r)
    signed_in_as(client, session, "regional_reviewer")
    response = client.get("/review/overview")
    assert response.status_code == 200, response.text
    words = text_of(response.text)
    assert "4 results waiting in 2 countries, the oldest waiting 12 days." in words
    # Most waiting first, then by code: KGZ (2, the oldest 5 days), TJK (2, the oldest 12 days).
    assert re.search(r"Kyrgyzstan : review its 2 results 2 5 days, since \d+ \w+ \d{4} "
                     r"Tajikistan : review its 2 results 2 12 days, since", words), words
    assert 'href="/review?country=KGZ"' in response.text and 'href="/review?country=TJK"' in response.text


def test_an_empty_queue_says_so(client, session):
    signed_in_as(client, session, "regional_reviewer")
    assert "Nothing waits for review." in client.get("/review/overview").text


def test_the_overview_is_for_reviewers(client, session):
    signed_in_as(client, session, "country_officer", countries=["KGZ"])
    assert client.get("/review/overview").status_code == 403


# --- where sign-in lands --------------------------------------------------------------------------

def login(client, email, next_url=None):
    page = client.get("/login" + (f"?next={next_url}" if next_url else ""))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    sent_next = re.search(r'name="next" value="([^"]*)"', page.text).group(1)
    return client.post("/login", data={"email": email, "password": factories.PASSWORD, "csrf_token": csrf,
                                       "next": sent_next}, follow_redirects=False)


@pytest.mark.parametrize(("role", "scope", "home"), [
    ("country_officer", {"countries": ["KGZ"]}, "/reporting"),
    ("regional_reviewer", {}, "/review/overview"),
    ("admin", {}, "/"),
    ("donor_viewer", {"donors": ["ECHO"]}, "/"),
])
def test_sign_in_lands_each_role_on_its_home(client, session, role, scope, home):
    factories.donor(session, "ECHO")
    user = factories.user(session, role, **scope)
    session.commit()
    response = login(client, user.email)
    assert response.status_code == 303 and response.headers["location"] == home
    # Signed in already, the sign-in page sends them home too.
    assert client.get("/login", follow_redirects=False).headers["location"] == home


@pytest.mark.parametrize("next_url", ["/projects", "/"])
def test_a_page_asked_for_is_still_where_sign_in_lands(client, session, next_url):
    user = factories.user(session, "country_officer", countries=["KGZ"])
    session.commit()
    response = login(client, user.email, next_url)
    assert response.headers["location"] == next_url


def test_a_signed_out_officer_sent_to_sign_in_comes_back_to_the_page(client, session):
    user = factories.user(session, "country_officer", countries=["KGZ"])
    session.commit()
    redirect = client.get("/projects", follow_redirects=False)
    assert redirect.headers["location"] == "/login?next=/projects"
    assert login(client, user.email, "/projects").headers["location"] == "/projects"


# --- in a browser ----------------------------------------------------------------------------------

OFFICER = "reporting.officer@test.example"
REVIEWER = "reporting.reviewer@test.example"


@pytest.fixture(scope="module")
def browser_world(live_server):
    """On the live server: BRW-1 in MDA (2024, quarterly I1 and I2, semiannual I3) with I1's
    2024Q1 submitted 9 days before now, and an officer of MDA and a reviewer."""
    from tests.progress_world import World

    with live_server.session() as session:
        world = World(session)
        officer = factories.user(session, "country_officer", countries=["MDA"], email=OFFICER)
        factories.user(session, "regional_reviewer", email=REVIEWER)
        world._officers["MDA"] = due.principal_for(session, officer)
        project = world.project("BRW-1", countries=("MDA",), start="2024-01-01", end="2024-12-31")
        ids = [world.indicator(project, "I1", {"MDA": (0, 100)}),
               world.indicator(project, "I2", {"MDA": (0, 40)}),
               world.indicator(project, "I3", {"MDA": (0, 10)}, reporting_frequency="semiannual")]
        rid = world.report(ids[0], "MDA", "2024Q1", 12, "submitted")
        world.report(ids[1], "MDA", "2024Q1", 3, "draft")
        from mne.results.models import Result
        session.get(Result, rid).submitted_at = utcnow() - timedelta(days=9)
        session.commit()


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"] + 1, \
        "the page scrolls sideways"


@pytest.mark.browser
def test_an_officer_lands_on_what_is_due_and_a_reviewer_on_the_queue(page: Page, live_server, browser_world,
                                                                      monkeypatch):
    monkeypatch.setattr(due, "current_date", lambda: date(2024, 7, 25))  # the live server runs in this process
    page.set_viewport_size({"width": 1366, "height": 900})
    factories.sign_in_page(page, live_server, OFFICER)
    expect(page).to_have_url(live_server.url + "/reporting")
    expect(page.get_by_role("heading", name="My reporting", level=1)).to_be_visible()
    # 2024Q1 (due 30 April) overdue: I1 is submitted, I2 a draft: I2 alone. 2024Q2 (due 30 July):
    # I1, I2, I3, all missing.
    expect(page.locator(".due-summary")).to_contain_text("4 lines due, 1 overdue.")
    q1 = page.get_by_role("region", name="2024Q1 · overdue")
    expect(q1.get_by_role("row", name=re.compile("I2"))).to_contain_text("Draft")
    expect(q1.get_by_role("row", name=re.compile("I2"))).to_contain_text("86 days overdue")
    enter = page.get_by_role("link", name="Enter 2024Q2 for BRW-1")
    expect(enter).to_have_attribute("href", "/projects/BRW-1/results/period/2024Q2")
    screenshot(page, "my-reporting-wide")
    no_sideways_scroll(page)
    page.set_viewport_size({"width": 390, "height": 844})
    no_sideways_scroll(page)
    screenshot(page, "my-reporting-narrow")
    page.get_by_role("button", name="Sign out").click()

    page.set_viewport_size({"width": 1366, "height": 900})
    factories.sign_in_page(page, live_server, REVIEWER)
    expect(page).to_have_url(live_server.url + "/review/overview")
    row = page.get_by_role("row", name=re.compile("Moldova"))
    expect(row).to_contain_text("9 days")
    screenshot(page, "review-overview-wide")
    page.set_viewport_size({"width": 390, "height": 844})
    no_sideways_scroll(page)
    screenshot(page, "review-overview-narrow")
    page.get_by_role("link", name=re.compile("Moldova")).click()
    expect(page).to_have_url(live_server.url + "/review?country=MDA")
