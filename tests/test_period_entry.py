"""A quarter logged in one go (issue 14, part 1): the period entry form behind "Enter 2024Q1" on
the results grid — one Save writes every line typed in one transaction (or nothing, with each
refused line saying why beside its fields and everything typed shown again), stale versions and
locks per line, another country's lines neither offered nor accepted; and the grid's marks: due
dates, overdue cells before submitting, a year at a time, Submit buttons that count."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select

from mne.audit.models import AuditEvent
from mne.reference.models import Period
from mne.results.models import Result
from tests import factories
from tests.pages import doc, error_beside, fresh

KGZ = "entry.kgz@test.example"
TJK = "entry.tjk@test.example"
REVIEWER = "entry.reviewer@test.example"
HX = {"HX-Request": "true"}
FORM = "/projects/PE-1/results/period/2024Q1"


@pytest.fixture
def project(session):
    """A 2024 Kyrgyz–Tajik project: a count by sex, a percentage, and an annual count."""
    factories.user(session, "country_officer", countries=["KGZ"], email=KGZ)
    factories.user(session, "country_officer", countries=["TJK"], email=TJK)
    factories.user(session, "regional_reviewer", email=REVIEWER)
    proj = factories.project(session, "PE-1", countries=("KGZ", "TJK"), priorities=("SP1",),
                             start="2024-01-01", end="2024-12-31")
    count = factories.indicator(session, proj, "OC1", targets={"KGZ": (0, 400), "TJK": (0, 100)})
    count.disaggregation = "sex"
    pct = factories.indicator(session, proj, "OC2", aggregation="latest", measure="percentage",
                              targets={"KGZ": (20, 60), "TJK": (10, 50)})
    annual = factories.indicator(session, proj, "OC3", targets={"KGZ": (0, 50), "TJK": (0, 50)})
    annual.reporting_frequency = "annual"
    session.add_all([count, annual])
    session.flush()
    return proj, count, pct, annual


@pytest.fixture
def kgz(client, project):
    return factories.sign_in(client, KGZ)


@pytest.fixture
def today(monkeypatch):
    """Set the calendar lateness is judged on (the day of 'My reporting')."""
    def set_today(day: date) -> None:
        monkeypatch.setattr("mne.due.service.current_date", lambda: day)
    set_today(date(2024, 5, 15))  # 2024Q1 was due on 30 April; 2024Q2 is the current period
    return set_today


def entry_form(csrf: str, lines: dict, **extra) -> list[tuple[str, str]]:
    """The period form as a browser posts it: `lines` maps an indicator line ("12-KGZ") to its fields."""
    pairs = [("csrf_token", csrf)]
    for key, fields in lines.items():
        fields = dict(fields)
        pairs.append(("line", key))
        pairs.append((f"{key}.version", str(fields.pop("version", ""))))
        pairs.extend((f"{key}.{name}", str(value)) for name, value in fields.items())
    pairs.extend(extra.items())
    return pairs


def post(client, pairs, url: str = FORM):
    data: dict[str, list[str]] = {}
    for key, value in pairs:
        data.setdefault(key, []).append(value)
    return client.post(url, data=data, follow_redirects=False)


def stored(session, period: str = "2024Q1") -> dict[str, Result]:
    return {f"{r.indicator_id}-{r.country_iso3}": r
            for r in fresh(session).exec(select(Result).where(Result.period_code == period))}


def events(session) -> int:
    return fresh(session).exec(select(func.count()).select_from(AuditEvent).where(AuditEvent.entity == "result")).one()


def full_quarter(count, pct, annual) -> dict:
    return {f"{count.id}-KGZ": {"value": "120", "female": "70", "male": "50", "narrative": "Two cohorts"},
            f"{pct.id}-KGZ": {"numerator": "26", "denominator": "40"},
            f"{annual.id}-KGZ": {"value": "5"}}


# --- the form -----------------------------------------------------------------------------------

def test_the_grid_opens_each_period_as_one_form(client, kgz, project, today):
    _, count, pct, annual = project
    grid = doc(client.get("/projects/PE-1/results"))
    enter = grid.xpath("//a[normalize-space()='Enter 2024Q1']")
    assert enter and enter[0].get("href") == FORM
    page = client.get(FORM)
    assert page.status_code == 200
    tree = doc(page)
    # Every line of the officer's countries, none of Tajikistan's.
    assert tree.xpath("//input[@name='line']/@value") == [f"{count.id}-KGZ", f"{pct.id}-KGZ", f"{annual.id}-KGZ"]
    assert "Tajikistan" not in page.text
    # A count: its value outside the disclosure; a percentage: numerator and denominator, as
    # SPEC rev. 2 counts it, with the percentage itself optional inside.
    assert tree.get_element_by_id(f"l{count.id}-KGZ-value").getparent().tag == "div"
    assert not tree.xpath(f"//details//input[@name='{count.id}-KGZ.value']")
    assert tree.xpath(f"//div[@class='entry-values']/div/input[@name='{pct.id}-KGZ.numerator']")
    assert tree.xpath(f"//details//input[@name='{pct.id}-KGZ.value']")
    assert tree.xpath(f"//details//input[@name='{count.id}-KGZ.female']")
    assert not tree.xpath(f"//input[@name='{pct.id}-KGZ.female']")  # not disaggregated
    # Tab goes from one value to the next: the disclosures' toggles are out of the tab order,
    # and one link opens them all for a keyboard.
    assert tree.xpath("//details/summary/@tabindex") == ["-1"] * 3
    assert tree.xpath("//a[@data-open-all]/@href") == ["?open=all#period-form"]
    assert len(doc(client.get(FORM + "?open=all")).xpath("//details[@open]")) == 3
    assert tree.get_element_by_id(f"l{count.id}-KGZ-value").get("autofocus") is not None
    # The annual line is not due in Q1, and says so; the others are overdue (due 30 April).
    assert "Not due this period (optional)" in tree.get_element_by_id(f"line-{annual.id}-KGZ").text_content()
    assert "Overdue" in tree.get_element_by_id(f"line-{count.id}-KGZ").text_content()
    assert "Nothing of 2024Q1 waits to be submitted" in page.text


def test_one_save_writes_every_line_in_one_go(client, session, kgz, project, today):
    _, count, pct, annual = project
    before = events(session)
    response = post(client, entry_form(kgz, full_quarter(count, pct, annual)))
    assert response.status_code == 303 and response.headers["location"] == FORM + "?saved=3"
    rows = stored(session)
    assert {k: (r.value, r.status, r.version) for k, r in rows.items()} == {
        f"{count.id}-KGZ": (120, "draft", 1), f"{pct.id}-KGZ": (65, "draft", 1), f"{annual.id}-KGZ": (5, "draft", 1)}
    assert (rows[f"{count.id}-KGZ"].female, rows[f"{count.id}-KGZ"].narrative) == (70, "Two cohorts")
    assert (rows[f"{pct.id}-KGZ"].numerator, rows[f"{pct.id}-KGZ"].denominator) == (26, 40)
    # One audit event per result written.
    assert events(session) == before + 3
    written = fresh(session).exec(select(AuditEvent.entity_id, AuditEvent.action).where(
        AuditEvent.entity == "result")).all()
    assert sorted(written) == sorted((str(r.id), "result.create") for r in rows.values())
    page = client.get(response.headers["location"])
    assert "Saved 3 drafts of 2024Q1" in page.text
    button = doc(page).get_element_by_id("submit-2024Q1")
    assert button.text_content() == "Submit 3 drafts of 2024Q1 for review" and button.get("autofocus") is not None
    shown = doc(page)
    assert shown.get_element_by_id(f"l{count.id}-KGZ-value").get("value") == "120"
    assert shown.get_element_by_id(f"l{pct.id}-KGZ-numerator").get("value") == "26"
    # Saved again unchanged: nothing is rewritten (no new version, no audit event).
    lines = {key: {**fields, "version": "1"} for key, fields in full_quarter(count, pct, annual).items()}
    again = post(client, entry_form(kgz, lines))
    assert again.headers["location"] == FORM + "?saved=0"
    assert "Nothing was saved: no value was typed or changed" in client.get(again.headers["location"]).text
    assert [r.version for r in stored(session).values()] == [1, 1, 1] and events(session) == before + 3
    # One line changed: one update, one event.
    lines[f"{annual.id}-KGZ"]["value"] = "6"
    assert post(client, entry_form(kgz, lines)).headers["location"] == FORM + "?saved=1"
    assert stored(session)[f"{annual.id}-KGZ"].version == 2 and events(session) == before + 4


def test_one_refused_line_writes_nothing_and_keeps_what_was_typed(client, session, kgz, project, today):
    _, count, pct, annual = project
    lines = full_quarter(count, pct, annual)
    lines[f"{count.id}-KGZ"].update(value="120", female="70", male="40")  # 110, not 120
    lines[f"{pct.id}-KGZ"].update(numerator="50", denominator="40")  # more than the whole
    lines[f"{annual.id}-KGZ"]["value"] = "five"
    response = post(client, entry_form(kgz, lines))
    assert response.status_code == 422
    assert stored(session) == {} and events(session) == 0
    assert "add up to the value 120" in error_beside(response, f"l{count.id}-KGZ-disaggregation")
    assert "cannot exceed the denominator" in error_beside(response, f"l{pct.id}-KGZ-numerator")
    assert error_beside(response, f"l{annual.id}-KGZ-value") == "Write a number."
    tree = doc(response)
    summary = tree.xpath("string(//div[contains(@class,'error-summary')])")
    assert "Nothing has been saved" in summary and "3 lines were refused" in summary
    assert "OC1 · Kyrgyzstan" in summary and "Breakdown: Values by sex" in summary
    assert "OC2 · Kyrgyzstan" in summary and "Numerator: The numerator" in summary
    assert "OC3 · Kyrgyzstan" in summary and "Value: Write a number." in summary
    # Nothing typed is lost, and the line with a breakdown error shows its breakdown open.
    assert tree.get_element_by_id(f"l{count.id}-KGZ-male").get("value") == "40"
    assert tree.get_element_by_id(f"l{count.id}-KGZ-narrative").text == "Two cohorts"
    assert tree.get_element_by_id(f"l{annual.id}-KGZ-value").get("value") == "five"
    assert tree.get_element_by_id(f"l{pct.id}-KGZ-denominator").get("value") == "40"
    assert tree.xpath(f"//fieldset[@id='line-{count.id}-KGZ']//details/@open")
    assert tree.get_element_by_id(f"l{count.id}-KGZ-female").get("autofocus") is not None
    # One bad line among good ones is enough to write nothing.
    lines = full_quarter(count, pct, annual)
    lines[f"{pct.id}-KGZ"] = {"value": "130"}
    response = post(client, entry_form(kgz, lines))
    assert response.status_code == 422 and stored(session) == {}
    assert "between 0 and 100" in error_beside(response, f"l{pct.id}-KGZ-value")
    assert doc(response).get_element_by_id(f"l{count.id}-KGZ-value").get("value") == "120"


def test_a_stale_line_is_a_conflict_on_that_line(client, session, kgz, project, today):
    _, count, pct, annual = project
    assert post(client, entry_form(kgz, full_quarter(count, pct, annual))).status_code == 303
    # Another tab changes OC3 (version 1 → 2)…
    key = f"{annual.id}-KGZ"
    assert post(client, entry_form(kgz, {key: {"value": "7", "version": "1"}})).status_code == 303
    # …then this form, filled in against version 1, saves OC1 and OC3.
    lines = {f"{count.id}-KGZ": {"value": "121", "female": "71", "male": "50", "version": "1"},
             key: {"value": "9", "version": "1"}}
    response = post(client, entry_form(kgz, lines))
    assert response.status_code == 409
    rows = stored(session)
    assert (rows[key].value, rows[f"{count.id}-KGZ"].value) == (7, 120)  # nothing written
    tree = doc(response)
    message = tree.xpath(f"string(//fieldset[@id='line-{key}']//p[contains(@class,'conflict')])")
    assert "someone else changed this result" in message and "It now holds 7 (draft)" in message
    assert KGZ in message and "Your value, 9, is still in the form" in message
    assert not tree.xpath(f"//fieldset[@id='line-{count.id}-KGZ']//p[contains(@class,'conflict')]")
    assert tree.get_element_by_id(f"l{key}-value").get("value") == "9"
    assert tree.get_element_by_id(f"l{count.id}-KGZ-value").get("value") == "121"
    # Saving again is deliberate: the form now holds the current version, and replaces theirs.
    assert tree.xpath(f"//input[@name='{key}.version']/@value") == ["2"]
    lines[key]["version"] = "2"
    assert post(client, entry_form(kgz, lines)).headers["location"] == FORM + "?saved=2"
    assert (stored(session)[key].value, stored(session)[key].version) == (9, 3)


def test_another_countrys_line_is_neither_offered_nor_accepted(client, session, kgz, project, today):
    _, count, pct, annual = project
    response = post(client, entry_form(kgz, {f"{count.id}-TJK": {"value": "5"}, f"{count.id}-KGZ": {"value": "5"}}))
    assert response.status_code == 403 and "You do not have access" in response.text
    response = post(client, entry_form(kgz, {"999999-KGZ": {"value": "5"}}))
    assert response.status_code == 422 and "not a line of PE-1" in response.text
    assert stored(session) == {}
    # The Tajik officer sees only its own lines; a reviewer cannot enter results at all.
    client.cookies.clear()
    tjk = factories.sign_in(client, TJK)
    tree = doc(client.get(FORM))
    assert tree.xpath("//input[@name='line']/@value") == [f"{count.id}-TJK", f"{pct.id}-TJK", f"{annual.id}-TJK"]
    assert post(client, entry_form(tjk, {f"{count.id}-KGZ": {"value": "5"}})).status_code == 403
    client.cookies.clear()
    rev = factories.sign_in(client, REVIEWER)
    assert client.get(FORM).status_code == 403
    assert post(client, entry_form(rev, {f"{count.id}-KGZ": {"value": "5"}})).status_code == 403
    assert stored(session) == {}


def test_unknown_or_outside_periods_are_404(client, kgz, project):
    for path in ("/projects/PE-1/results/period/2099Q1", "/projects/PE-1/results/period/2023Q4",
                 "/projects/PE-1/results/period/nope", "/projects/NOPE/results/period/2024Q1"):
        assert client.get(path).status_code == 404, path
    assert client.get("/projects/PE-1/results/period/2024q1").status_code == 200


def test_locked_lines_and_closed_periods_are_read_only(client, session, kgz, project, today):
    _, count, pct, annual = project
    approved = factories.result(session, count, "KGZ", "2024Q1", value=50, status="approved")
    factories.result(session, pct, "KGZ", "2024Q1", value=30, status="submitted")
    tree = doc(client.get(FORM))
    assert tree.xpath("//input[@name='line']/@value") == [f"{annual.id}-KGZ"]
    line = tree.get_element_by_id(f"line-{count.id}-KGZ").text_content()
    assert "Approved and locked" in line and "50" in line
    assert "Submitted for review" in tree.get_element_by_id(f"line-{pct.id}-KGZ").text_content()
    # Posted anyway (a form shown before the approval): refused on its line, nothing written.
    response = post(client, entry_form(kgz, {f"{count.id}-KGZ": {"value": "60", "version": "1"},
                                             f"{annual.id}-KGZ": {"value": "3"}}))
    assert response.status_code == 409
    assert "approved and locked" in response.text.lower() and "Your value, 60, was not saved" in response.text
    assert fresh(session).get(Result, approved.id).value == 50 and f"{annual.id}-KGZ" not in stored(session)
    # A closed period: every line read-only, and nothing to save or submit.
    period = session.get(Period, "2024Q3")
    period.status = "closed"
    session.add(period)
    session.flush()
    closed = client.get("/projects/PE-1/results/period/2024Q3")
    tree = doc(closed)
    assert not tree.xpath("//input[@name='line']") and not tree.xpath("//button[normalize-space()='Save 2024Q3 drafts']")
    assert "Period 2024Q3 is closed" in closed.text
    response = post(client, entry_form(kgz, {f"{annual.id}-KGZ": {"value": "3"}}),
                    url="/projects/PE-1/results/period/2024Q3")
    assert response.status_code == 409 and "closed" in response.text
    assert stored(session, "2024Q3") == {}
    # The grid offers no "Enter" for the closed period.
    assert not doc(client.get("/projects/PE-1/results")).xpath("//a[normalize-space()='Enter 2024Q3']")


# --- submitting, and the grid's counts and marks -------------------------------------------------

def test_submit_counts_its_drafts_and_returns_to_the_period(client, session, kgz, project, today):
    _, count, pct, annual = project
    post(client, entry_form(kgz, full_quarter(count, pct, annual)))
    factories.result(session, count, "TJK", "2024Q1", value=3)  # another country's draft: not the officer's to send
    grid = doc(client.get("/projects/PE-1/results"))
    assert grid.get_element_by_id("submit-2024Q1").text_content() == "Submit 2024Q1 (3 drafts)"
    assert grid.get_element_by_id("submit-2024Q2").text_content() == "Submit 2024Q2 (nothing to submit)"
    response = client.post("/projects/PE-1/results/submit", data={"csrf_token": kgz, "period": "2024Q1"},
                           follow_redirects=False)
    assert response.status_code == 303
    # Back at the period submitted: its year, its column in view.
    assert response.headers["location"] == "/projects/PE-1/results?period=2024Q1&submitted=2024Q1&count=3#period-2024Q1"
    after = client.get(response.headers["location"])
    assert "3 results of 2024Q1 submitted for review" in after.text
    tree = doc(after)
    assert tree.get_element_by_id("submit-2024Q1").text_content() == "Submit 2024Q1 (nothing to submit)"
    assert {r.status for k, r in stored(session).items() if k.endswith("KGZ")} == {"submitted"}
    assert stored(session)[f"{count.id}-TJK"].status == "draft"
    # Submitted results are no longer overdue; the form shows them read-only.
    assert "Overdue" not in tree.get_element_by_id(f"cell-{count.id}-KGZ-2024Q1").text_content()
    assert not doc(client.get(FORM)).xpath("//input[@name='line']")


def test_a_cell_saved_in_the_grid_recounts_its_submit_button(client, session, kgz, project, today):
    _, count, _, annual = project
    data = {"csrf_token": kgz, "indicator_id": str(count.id), "country": "KGZ", "period": "2024Q2", "value": "10",
            "narrative": "", "means_of_verification": ""}
    saved = client.post("/results/edit", data=data, headers=HX)
    assert saved.status_code == 200
    button = doc(saved).get_element_by_id("submit-2024Q2")
    assert button.get("hx-swap-oob") == "true" and button.text_content() == "Submit 2024Q2 (1 draft)"
    saved = client.post("/results/edit", data={**data, "indicator_id": str(annual.id)}, headers=HX)
    assert doc(saved).get_element_by_id("submit-2024Q2").text_content() == "Submit 2024Q2 (2 drafts)"
    # The full grid never carries the out-of-band copy.
    page = client.get("/projects/PE-1/results")
    assert "hx-swap-oob" not in page.text and page.text.count('id="submit-2024Q2"') == 1


def test_the_grid_marks_due_dates_and_overdue_cells_before_submitting(client, session, kgz, project, today):
    _, count, pct, annual = project
    factories.result(session, count, "KGZ", "2024Q1", value=5)  # a draft: still owed
    factories.result(session, pct, "KGZ", "2024Q1", value=40, status="submitted")  # sent in time: not overdue
    tree = doc(client.get("/projects/PE-1/results"))
    q1, q2, q4 = (tree.get_element_by_id(f"period-2024Q{n}") for n in (1, 2, 4))
    assert "Due 30 Apr 2024" in q1.text_content() and q1.xpath("span/time/@datetime") == ["2024-04-30"]
    assert "1 overdue of 2 due" in " ".join(q1.text_content().split())  # OC3 is annual: not due in Q1
    assert "Current period" in q2.text_content() and "Current period" not in q1.text_content()
    assert "2 lines due" in q2.text_content() and "3 lines due" in q4.text_content()
    cells = {key: tree.get_element_by_id(f"cell-{key}-2024Q1").text_content()
             for key in (f"{count.id}-KGZ", f"{pct.id}-KGZ", f"{annual.id}-KGZ")}
    assert "Overdue" in cells[f"{count.id}-KGZ"]  # a draft past its due date: late before it is submitted
    assert "Overdue" not in cells[f"{pct.id}-KGZ"] and "Overdue" not in cells[f"{annual.id}-KGZ"]
    assert "Overdue" not in tree.get_element_by_id(f"cell-{count.id}-KGZ-2024Q2").text_content()
    # On 1 August 2024Q2 is late too: an empty due cell is overdue.
    today(date(2024, 8, 1))
    tree = doc(client.get("/projects/PE-1/results"))
    assert "Overdue" in tree.get_element_by_id(f"cell-{count.id}-KGZ-2024Q2").text_content()
    assert "Overdue" not in tree.get_element_by_id(f"cell-{annual.id}-KGZ-2024Q2").text_content()


def test_the_grid_shows_a_year_at_a_time_opening_on_the_current_period(client, session, today):
    factories.user(session, "country_officer", countries=["KGZ"], email=KGZ)
    proj = factories.project(session, "PE-2", countries=("KGZ",), start="2022-07-01", end="2024-12-31")
    ind = factories.indicator(session, proj, "OC1", targets={"KGZ": (0, 100)})
    old = factories.result(session, ind, "KGZ", "2022Q4", value=3)
    factories.sign_in(client, KGZ)

    def columns(query: str = "") -> tuple[list[str], str]:
        tree = doc(client.get("/projects/PE-2/results" + query))
        codes = [th.xpath("string(span[@class='period-code'])") for th in tree.xpath("//thead/tr/th")][1:]
        return codes, tree.xpath("string(//div[contains(@class,'grid-wrap')]/@data-focus)")

    assert columns() == (["2024Q1", "2024Q2", "2024Q3", "2024Q4"], "period-2024Q2")
    assert columns("?period=2023Q3") == (["2023Q1", "2023Q2", "2023Q3", "2023Q4"], "period-2023Q3")
    assert columns("?year=2022") == (["2022Q3", "2022Q4"], "")
    codes, _ = columns("?year=all")
    assert len(codes) == 10 and codes[0] == "2022Q3"
    today(date(2026, 3, 1))  # after the project: its last year, opening on its last period
    assert columns() == (["2024Q1", "2024Q2", "2024Q3", "2024Q4"], "period-2024Q4")
    today(date(2021, 3, 1))  # before it: its first
    assert columns() == (["2022Q3", "2022Q4"], "period-2022Q3")
    # The way back from a result of another year (its page, its cell form) shows that year.
    cell = f"cell-{ind.id}-KGZ-2022Q4"
    back = doc(client.get(f"/results/{old.id}")).xpath("//p[@class='breadcrumb']/a/@href")[0]
    edit = doc(client.get(f"/results/edit?indicator_id={ind.id}&country=KGZ&period=2022Q4"))
    assert back == f"/projects/PE-2/results?period=2022Q4#{cell}"
    assert set(edit.xpath("//a[contains(@href, '/projects/PE-2/results')]/@href")) == {back}  # breadcrumb, Cancel
    assert doc(client.get(back.split("#")[0])).get_element_by_id(cell) is not None
