"""What is due (issue 14, part 2): which lines are due in a period by their reporting frequency
and project dates, their state, what is overdue as of a date, the caller's scope, the reviewer's
queue by country, and `GET /api/v1/due`. Every expectation is worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mne.due import rules
from mne.due import service as due
from mne.errors import Invalid
from mne.progress.rules import PeriodInfo
from tests import factories
from tests.progress_world import World, principal_of


@pytest.fixture
def world(session):
    """Two projects, built through the services (the 2024 periods are open in the seed):

    DUE-FREQ in KGZ and TJK, 2023-07-01 to 2024-09-30 (it ends in 2024Q3), with one indicator of
    each frequency, Q (quarterly), S (semiannual), A (annual), E (endline).

    DUE-ST in KGZ, 2024-01-01 to 2024-12-31, donor ECHO, five quarterly indicators whose 2024Q1
    results are: I1 none, I2 draft, I3 submitted, I4 returned, I5 approved.
    """
    w = World(session)
    freq = w.project("DUE-FREQ", countries=("KGZ", "TJK"), start="2023-07-01", end="2024-09-30")
    both = {"KGZ": (0, 100), "TJK": (0, 50)}
    ids = {code: w.indicator(freq, code, both, reporting_frequency=frequency)
           for code, frequency in (("Q", "quarterly"), ("S", "semiannual"), ("A", "annual"), ("E", "endline"))}
    st = w.project("DUE-ST", countries=("KGZ",), donors=("ECHO",), start="2024-01-01", end="2024-12-31")
    for n, status in enumerate((None, "draft", "submitted", "returned", "approved"), start=1):
        ids[f"I{n}"] = w.indicator(st, f"I{n}", {"KGZ": (0, 100)})
        if status:
            w.report(ids[f"I{n}"], "KGZ", "2024Q1", 10, status)
    session.flush()
    w.ids = ids
    return w


def lines(items):
    """(project, indicator, country, period, state) of each item, in the order given."""
    return [(i.project_code, i.indicator_code, i.country, i.period, i.state) for i in items]


# --- which lines are due in a period ---------------------------------------------------------

@pytest.mark.parametrize(("period", "expected"), [
    ("2023Q2", []),  # before the project starts
    ("2023Q3", ["Q"]),  # its first quarter: only quarterly lines
    ("2023Q4", ["Q", "S", "A"]),  # a Q4: semiannual and annual are due too
    ("2024Q1", ["Q"]),
    ("2024Q2", ["Q", "S"]),  # a Q2: semiannual
    ("2024Q3", ["Q", "E"]),  # the quarter holding the project's end (2024-09-30): endline
    ("2024Q4", []),  # after the project ended, nothing, not even the annual report
])
def test_a_lines_frequency_and_its_projects_dates_decide_whether_it_is_due(session, world, period, expected):
    items = [i for i in due.due_items(session, world.reviewer, [period]) if i.project_code == "DUE-FREQ"]
    # Each indicator has a KGZ and a TJK line, listed in the indicators' order.
    assert lines(items) == [("DUE-FREQ", code, country, period, "missing") for code in expected
                            for country in ("KGZ", "TJK")]


def test_the_state_of_each_line_is_its_results_status_or_missing(session, world):
    officer = world.officer("KGZ")
    items = [i for i in due.due_items(session, officer, ["2024Q1"]) if i.project_code == "DUE-ST"]
    assert [(i.indicator_code, i.state) for i in items] == [
        ("I1", "missing"), ("I2", "draft"), ("I3", "submitted"), ("I4", "returned"), ("I5", "approved")]
    assert items[0].result_id is None and all(i.result_id for i in items[1:])
    first = items[0]
    assert (first.indicator_id, first.indicator_name, first.project_title, first.due_date) == (
        world.ids["I1"], "Indicator I1", "Project DUE-ST", date(2024, 4, 30))


def test_a_result_of_another_period_does_not_count_for_this_one(session, world):
    items = [i for i in due.due_items(session, world.officer("KGZ"), ["2024Q2"]) if i.project_code == "DUE-ST"]
    assert {i.state for i in items} == {"missing"} and len(items) == 5


def test_several_periods_are_listed_oldest_first(session, world):
    items = due.due_items(session, world.officer("TJK"), ["2024Q3", "2024Q2"])
    # TJK has only DUE-FREQ's lines: Q and S in 2024Q2, then Q and E in 2024Q3.
    assert lines(items) == [("DUE-FREQ", "Q", "TJK", "2024Q2", "missing"), ("DUE-FREQ", "S", "TJK", "2024Q2", "missing"),
                            ("DUE-FREQ", "Q", "TJK", "2024Q3", "missing"), ("DUE-FREQ", "E", "TJK", "2024Q3", "missing")]


def test_an_unknown_period_is_refused_naming_period(session, world):
    with pytest.raises(Invalid) as caught:
        due.due_items(session, world.reviewer, ["2031Q1"])
    assert caught.value.status_code == 422
    assert caught.value.details[0]["field"] == "period"


# --- scope -------------------------------------------------------------------------------------

def test_an_officer_sees_only_its_countries_lines(session, world):
    kgz = due.due_items(session, world.officer("KGZ"), ["2024Q1"])
    tjk = due.due_items(session, world.officer("TJK"), ["2024Q1"])
    # KGZ: DUE-FREQ's Q line and DUE-ST's five; TJK: DUE-FREQ's Q line alone.
    assert {i.country for i in kgz} == {"KGZ"} and len(kgz) == 6
    assert lines(tjk) == [("DUE-FREQ", "Q", "TJK", "2024Q1", "missing")]


def test_another_countrys_officer_gets_nothing_of_others(session, world):
    arm = world.officer("ARM")
    assert due.due_items(session, arm, ["2024Q1", "2024Q2"]) == []


def test_a_donor_viewer_sees_every_line_of_its_donors_projects_only(session, world):
    echo = principal_of(factories.user(session, "donor_viewer", donors=["ECHO"]), "donor_viewer", donors=["ECHO"])
    items = due.due_items(session, echo, ["2024Q1"])
    assert {i.project_code for i in items} == {"DUE-ST"} and len(items) == 5
    factories.donor(session, "USAID")
    other = principal_of(factories.user(session, "donor_viewer", donors=["USAID"]), "donor_viewer", donors=["USAID"])
    assert due.due_items(session, other, ["2024Q1"]) == []


def test_a_reviewer_sees_every_line(session, world):
    items = [i for i in due.due_items(session, world.reviewer, ["2024Q1"]) if i.project_code.startswith("DUE-")]
    assert len(items) == 2 + 5  # Q in KGZ and TJK, and DUE-ST's five


# --- the current period and what is overdue --------------------------------------------------

def P(code, start, end, due_date):
    return PeriodInfo(code, date.fromisoformat(start), date.fromisoformat(end), date.fromisoformat(due_date))


PERIODS = [P("2024Q1", "2024-01-01", "2024-03-31", "2024-04-30"), P("2024Q2", "2024-04-01", "2024-06-30", "2024-07-30"),
           P("2024Q3", "2024-07-01", "2024-09-30", "2024-10-30")]


@pytest.mark.parametrize(("today", "expected"), [
    ("2024-02-10", "2024Q1"),  # during Q1: Q1 is the next to report
    ("2024-04-15", "2024Q1"),  # Q1 ended, due on 30 April
    ("2024-04-30", "2024Q1"),  # its due day itself
    ("2024-05-01", "2024Q2"),  # Q1's due date has passed: Q2 is next (Q1 is overdue)
    ("2024-10-30", "2024Q3"),
    ("2025-06-01", "2024Q3"),  # every due date has passed: the latest period
])
def test_the_current_period_is_the_one_with_the_nearest_due_date_not_passed(today, expected):
    assert rules.current_period(PERIODS, date.fromisoformat(today)).code == expected


def test_no_periods_no_current_period():
    assert rules.current_period([], date(2024, 1, 1)) is None


@pytest.mark.parametrize(("state", "today", "overdue"), [
    ("missing", "2024-04-30", False),  # on the due day: not yet
    ("missing", "2024-05-01", True),
    ("draft", "2024-05-01", True),
    ("returned", "2024-05-01", True),
    ("submitted", "2024-05-01", False),
    ("approved", "2024-05-01", False),
])
def test_overdue_is_a_passed_due_date_and_a_report_still_owed(state, today, overdue):
    assert rules.is_overdue(state, date(2024, 4, 30), date.fromisoformat(today)) is overdue


@pytest.mark.parametrize(("days", "words"), [
    (5, "due in 5 days"), (1, "due in 1 day"), (0, "due today"), (-1, "1 day overdue"), (-3, "3 days overdue")])
def test_the_due_date_in_words(days, words):
    assert rules.describe_due(days) == words


def test_before_q1s_due_date_the_officer_has_q1_and_nothing_overdue(session, world):
    report = due.reporting(session, world.officer("KGZ"), date(2024, 4, 20))
    assert report.current.code == "2024Q1"
    # 2024Q1 for KGZ: DUE-FREQ's Q and DUE-ST's five, whatever their state; 2023 is closed.
    assert lines(report.items) == [("DUE-FREQ", "Q", "KGZ", "2024Q1", "missing"),
                                   *(("DUE-ST", f"I{n}", "KGZ", "2024Q1", s) for n, s in
                                     enumerate(("missing", "draft", "submitted", "returned", "approved"), start=1))]
    assert report.overdue == [] and report.overdue_periods == []
    assert [i.state for i in report.to_do] == ["missing", "missing", "draft", "returned"]
    assert report.items[0].days_left(report.today) == 10


def test_after_q1s_due_date_q2_is_current_and_q1s_owed_lines_are_overdue(session, world):
    report = due.reporting(session, world.officer("KGZ"), date(2024, 5, 1))
    assert report.current.code == "2024Q2"
    # Overdue from 2024Q1: only what is still owed (missing, draft, returned); submitted and
    # approved lines of a past period are done and not listed. Then every 2024Q2 line of KGZ:
    # DUE-FREQ's Q and S, DUE-ST's five (all missing).
    assert lines(report.items) == [
        ("DUE-FREQ", "Q", "KGZ", "2024Q1", "missing"), ("DUE-ST", "I1", "KGZ", "2024Q1", "missing"),
        ("DUE-ST", "I2", "KGZ", "2024Q1", "draft"), ("DUE-ST", "I4", "KGZ", "2024Q1", "returned"),
        ("DUE-FREQ", "Q", "KGZ", "2024Q2", "missing"), ("DUE-FREQ", "S", "KGZ", "2024Q2", "missing"),
        *(("DUE-ST", f"I{n}", "KGZ", "2024Q2", "missing") for n in range(1, 6))]
    assert len(report.overdue) == 4 and report.overdue_periods == ["2024Q1"]
    assert report.overdue[0].days_left(report.today) == -1


def test_a_closed_period_is_not_listed_as_overdue(session, world):
    # On 2024-02-01 the current period is 2024Q1; 2023Q4 (due 2024-01-30) has passed but is closed
    # in the seed, so DUE-FREQ's 2023Q4 lines, though missing, are not asked for.
    report = due.reporting(session, world.officer("KGZ"), date(2024, 2, 1))
    assert report.current.code == "2024Q1" and report.overdue == []


def test_an_open_past_period_is_overdue_again(session, world):
    from tests.progress_world import open_periods

    open_periods(session, "2023Q4")
    report = due.reporting(session, world.officer("TJK"), date(2024, 2, 1))
    # TJK in 2023Q4: DUE-FREQ's Q, S and A, all missing, two days overdue.
    assert lines(report.overdue) == [("DUE-FREQ", c, "TJK", "2023Q4", "missing") for c in ("Q", "S", "A")]
    assert report.overdue[0].days_left(date(2024, 2, 1)) == -2


def test_reminders_get_what_is_owed_soon_or_overdue_for_given_countries(session, world):
    # On 2024-07-25, 2024Q2 is due within 7 days (30 July) and 2024Q1 is overdue; 2024Q3 (due
    # 30 October) is not yet asked for. Only what is still owed.
    items = due.outstanding_for_countries(session, {"TJK"}, date(2024, 7, 25), within_days=7)
    assert lines(items) == [("DUE-FREQ", "Q", "TJK", "2024Q1", "missing"), ("DUE-FREQ", "Q", "TJK", "2024Q2", "missing"),
                            ("DUE-FREQ", "S", "TJK", "2024Q2", "missing")]
    assert [i.is_overdue(date(2024, 7, 25)) for i in items] == [True, False, False]
    # Three days earlier 2024Q2 is 8 days away: only the overdue 2024Q1.
    assert len(due.outstanding_for_countries(session, {"TJK"}, date(2024, 7, 22), within_days=7)) == 1


def test_reminders_from_a_user_row(session, world):
    user = factories.user(session, "country_officer", countries=["KGZ", "TJK"])
    principal = due.principal_for(session, user)
    assert principal.countries == {"KGZ", "TJK"}
    items = due.outstanding(session, principal, date(2024, 5, 1), within_days=0)
    # Only 2024Q1 (due 30 April) is due by 1 May: the 4 owed KGZ lines and TJK's Q.
    assert len(items) == 5 and {i.period for i in items} == {"2024Q1"}


# --- what waits for review ---------------------------------------------------------------------

def test_the_review_queue_by_country_with_its_oldest(session, world):
    now = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)
    # DUE-ST's I3 in KGZ was submitted by the world (now-ish). Add three submitted results with
    # known times: two in TJK (12 and 3 days before `now`), one more in KGZ (40 days before).
    q = world.ids["Q"]
    for country, period, when in (("TJK", "2024Q1", datetime(2024, 5, 8, 9, 0, tzinfo=UTC)),
                                  ("TJK", "2024Q2", datetime(2024, 5, 17, 12, 0, tzinfo=UTC)),
                                  ("KGZ", "2024Q2", datetime(2024, 4, 10, 12, 0, tzinfo=UTC))):
        r = factories.result(session, type("I", (), {"id": q}), country, period, status="submitted")
        r.submitted_at = when
        session.add(r)
    session.flush()
    queues = {c.country: c for c in due.waiting_for_review(session, world.reviewer) if c.country in ("KGZ", "TJK")}
    assert (queues["KGZ"].waiting, queues["TJK"].waiting) == (2, 2)
    assert queues["KGZ"].oldest_days(now) == 40
    assert queues["TJK"].oldest_days(now) == 12  # 12 days and 3 hours
    assert queues["TJK"].oldest_submitted_at == datetime(2024, 5, 8, 9, 0, tzinfo=UTC)
    # An officer's own view of it holds its country only.
    assert [c.country for c in due.waiting_for_review(session, world.officer("TJK"))] == ["TJK"]


# --- GET /api/v1/due ----------------------------------------------------------------------------

FIELDS = {"indicator_id", "indicator_code", "project_code", "country", "period", "due_date", "state"}


def test_the_api_lists_the_callers_lines_due_in_the_period(client, session, world):
    kgz = factories.token(session, "country_officer", countries=["KGZ"])
    response = client.get("/api/v1/due", params={"period": "2024Q1"}, headers=kgz)
    assert response.status_code == 200, response.text
    assert response.headers["X-Period"] == "2024Q1"
    body = response.json()
    assert all(set(item) == FIELDS for item in body)
    assert [(i["project_code"], i["indicator_code"], i["country"], i["state"]) for i in body] == [
        ("DUE-FREQ", "Q", "KGZ", "missing"), ("DUE-ST", "I1", "KGZ", "missing"), ("DUE-ST", "I2", "KGZ", "draft"),
        ("DUE-ST", "I3", "KGZ", "submitted"), ("DUE-ST", "I4", "KGZ", "returned"), ("DUE-ST", "I5", "KGZ", "approved")]
    assert body[0] == {"indicator_id": world.ids["Q"], "indicator_code": "Q", "project_code": "DUE-FREQ",
                       "country": "KGZ", "period": "2024Q1", "due_date": "2024-04-30", "state": "missing"}


def test_the_api_keeps_to_the_callers_scope_and_filters(client, session, world):
    tjk = factories.token(session, "country_officer", countries=["TJK"])
    arm = factories.token(session, "country_officer", countries=["ARM"])
    reviewer = factories.token(session, "regional_reviewer")
    tjk_items = client.get("/api/v1/due?period=2024Q2", headers=tjk).json()
    assert [(i["indicator_code"], i["country"]) for i in tjk_items] == [("Q", "TJK"), ("S", "TJK")]
    assert client.get("/api/v1/due?period=2024Q2", headers=arm).json() == []
    filtered = client.get("/api/v1/due?period=2024Q2&project=DUE-FREQ&country=TJK", headers=reviewer).json()
    assert [(i["indicator_code"], i["country"]) for i in filtered] == [("Q", "TJK"), ("S", "TJK")]


def test_the_api_takes_a_half_year_and_defaults_to_the_current_period(client, session, world, monkeypatch):
    tjk = factories.token(session, "country_officer", countries=["TJK"])
    half = client.get("/api/v1/due?period=2024S1", headers=tjk)
    assert half.headers["X-Period"] == "2024Q1,2024Q2"
    assert [(i["indicator_code"], i["period"]) for i in half.json()] == [("Q", "2024Q1"), ("Q", "2024Q2"), ("S", "2024Q2")]
    monkeypatch.setattr(due, "current_date", lambda: date(2024, 5, 1))  # Q1's due date (30 April) has passed
    default = client.get("/api/v1/due", headers=tjk)
    assert default.headers["X-Period"] == "2024Q2" and len(default.json()) == 2
    monkeypatch.setattr(due, "current_date", lambda: date(2024, 4, 30))
    assert client.get("/api/v1/due", headers=tjk).headers["X-Period"] == "2024Q1"


@pytest.mark.parametrize("period", ["2031Q1", "2024Q5", "next quarter", "1999"])
def test_the_api_refuses_a_period_that_is_not_one_naming_period(client, session, world, period):
    kgz = factories.token(session, "country_officer", countries=["KGZ"])
    response = client.get("/api/v1/due", params={"period": period}, headers=kgz)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert [d["field"] for d in error["details"]] == ["period"]


def test_the_api_needs_a_token(client):
    response = client.get("/api/v1/due")
    assert response.status_code == 401 and response.json()["error"]["code"]
