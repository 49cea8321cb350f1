"""The progress API against hand-computed figures, starting with SPEC §5's worked example.

The data is built through the real services (projects, indicators, results and their
workflow), so the precomputed summaries are exercised exactly as the app keeps them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from mne.indicators import service as indicators
from mne.progress import snapshots
from mne.projects import service as projects
from mne.results.models import Result
from tests import factories
from tests.progress_world import World, build_spec_example_2, open_periods

API = "/api/v1"


@pytest.fixture
def world(session) -> World:
    open_periods(session, "2022Q1", "2022Q2", "2022Q3", "2022Q4")
    return World(session)


@pytest.fixture
def example(world: World, session):
    """SPEC §5: a project in KGZ 2022-01-01..2023-12-31 with I1, I2 and I3 (I3 under SP2)."""
    project = world.project("KGZ-EXAMPLE", priorities=("SP1", "SP2"), donors=("ECHO",), markers=("gender",))
    i1 = world.indicator(project, "I1", {"KGZ": (0, 400)})
    i2 = world.indicator(project, "I2", {"KGZ": (40, 20)}, aggregation="latest", direction="decrease")
    i3 = world.indicator(project, "I3", {"KGZ": (0, 100)}, priority="SP2")
    world.report(i1, "KGZ", "2022Q1", 50)
    world.report(i1, "KGZ", "2022Q2", 70)
    world.report(i1, "KGZ", "2022Q4", 80)
    world.report(i1, "KGZ", "2022Q3", 30, "submitted")
    world.report(i2, "KGZ", "2022Q2", 38)
    world.report(i2, "KGZ", "2022Q4", 35)
    session.commit()
    return {"I1": i1, "I2": i2, "I3": i3}


@pytest.fixture
def reviewer(session):
    return factories.token(session, "regional_reviewer")


def lines_by_code(response) -> dict[str, dict]:
    assert response.status_code == 200, response.text
    return {line["indicator_code"]: line for line in response.json()}


def test_worked_example_indicator_lines(client, example, reviewer):
    lines = lines_by_code(client.get(f"{API}/indicator-lines?as_of=2022Q4&project=KGZ-EXAMPLE", headers=reviewer))
    assert set(lines) == {"I1", "I2", "I3"}
    i1, i2, i3 = lines["I1"], lines["I2"], lines["I3"]
    assert i1 == {"indicator_id": example["I1"], "indicator_code": "I1", "project_code": "KGZ-EXAMPLE",
                  "country": "KGZ", "baseline": 0.0, "target": 400.0, "actual": 200.0,
                  "progress": pytest.approx(0.5), "expected": pytest.approx(0.5), "status": "on_track",
                  "achieved": False}
    assert (i2["actual"], i2["progress"], i2["expected"], i2["status"]) == (35, pytest.approx(0.25), 0.5, "off_track")
    assert (i2["baseline"], i2["target"]) == (40, 20)
    assert (i3["actual"], i3["progress"], i3["status"]) == (None, None, "no_data")


def test_worked_example_with_pending(client, example, reviewer):
    lines = lines_by_code(client.get(f"{API}/indicator-lines?as_of=2022Q4&project=KGZ-EXAMPLE&include_pending=true",
                                     headers=reviewer))
    assert lines["I1"]["actual"] == 230 and lines["I1"]["progress"] == pytest.approx(0.575)
    assert lines["I1"]["status"] == "on_track"  # r = 0.575 / 0.5 = 1.15
    assert lines["I2"]["actual"] == 35  # nothing pending on I2


def test_worked_example_rollup_by_country(client, example, reviewer):
    response = client.get(f"{API}/rollup?by=country&as_of=2022Q4&project=KGZ-EXAMPLE", headers=reviewer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["as_of"] == "2022Q4" and body["by"] == "country"
    (kgz,) = body["groups"]
    assert kgz["key"] == "KGZ" and kgz["label"] == "Kyrgyzstan"
    assert kgz["lines"] == 3
    assert kgz["status_counts"] == {"on_track": 1, "at_risk": 0, "off_track": 1, "no_data": 1, "not_started": 0,
                                    "achieved": 0, "not_achieved": 0}
    assert kgz["mean_progress"] == pytest.approx(0.375)  # (0.5 + 0.25) / 2; I3 has no data
    assert kgz["on_track_share"] == pytest.approx(1 / 3)
    assert kgz["standard_indicators"] == []


def test_rollup_with_pending_and_earlier_as_of(client, example, reviewer):
    pending = client.get(f"{API}/rollup?by=country&as_of=2022Q4&project=KGZ-EXAMPLE&include_pending=true",
                         headers=reviewer).json()["groups"][0]
    assert pending["mean_progress"] == pytest.approx((0.575 + 0.25) / 2)
    # As of 2022Q1 (90 of 730 days, expected 0.1233): I1 50/400 = 0.125, r = 1.01 on track;
    # I2 has nothing counted yet; I3 neither.
    early = client.get(f"{API}/rollup?by=country&as_of=2022Q1&project=KGZ-EXAMPLE", headers=reviewer).json()
    (kgz,) = early["groups"]
    assert kgz["status_counts"] == {"on_track": 1, "at_risk": 0, "off_track": 0, "no_data": 2, "not_started": 0,
                                    "achieved": 0, "not_achieved": 0}
    assert kgz["mean_progress"] == pytest.approx(0.125)
    # A year given as as_of means its last quarter.
    assert client.get(f"{API}/rollup?by=country&as_of=2022&project=KGZ-EXAMPLE",
                      headers=reviewer).json()["as_of"] == "2022Q4"


def test_crossed_rollup_keys_are_lists(client, example, reviewer):
    body = client.get(f"{API}/rollup?by=priority,country&as_of=2022Q4&project=KGZ-EXAMPLE", headers=reviewer).json()
    assert body["by"] == "priority,country"
    groups = {tuple(g["key"]): g for g in body["groups"]}
    assert set(groups) == {("SP1", "KGZ"), ("SP2", "KGZ")}
    sp1 = groups[("SP1", "KGZ")]
    assert sp1["lines"] == 2 and sp1["status_counts"]["on_track"] == 1 and sp1["status_counts"]["off_track"] == 1
    assert sp1["mean_progress"] == pytest.approx(0.375) and sp1["on_track_share"] == pytest.approx(0.5)
    assert sp1["label"].startswith("SP1 · ") and sp1["label"].endswith(" × Kyrgyzstan")
    sp2 = groups[("SP2", "KGZ")]
    assert sp2["lines"] == 1 and sp2["mean_progress"] is None and sp2["on_track_share"] == 0
    # Project-level dimensions crossed with line-level ones take the same numbers.
    body = client.get(f"{API}/rollup?by=donor,pillar&as_of=2022Q4&project=KGZ-EXAMPLE", headers=reviewer).json()
    assert {tuple(g["key"]): g["lines"] for g in body["groups"]} == {("ECHO", "Resilience"): 3}


@pytest.mark.parametrize("by, key", [
    ("priority", "SP1"), ("pillar", "Resilience"), ("subregion", "CA"), ("country", "KGZ"), ("donor", "ECHO"),
    ("project", "KGZ-EXAMPLE"), ("marker", "gender"),
])
def test_every_dimension_groups_the_example(client, example, reviewer, by, key):
    body = client.get(f"{API}/rollup?by={by}&as_of=2022Q4&project=KGZ-EXAMPLE", headers=reviewer).json()
    keys = [g["key"] for g in body["groups"]]
    assert key in keys
    assert sum(g["lines"] for g in body["groups"]) == 3  # each line in exactly one group here


def test_lines_without_a_dimension_are_in_no_group_of_it(client, example, reviewer):
    # The example project has no SDG targets or GCM objectives.
    for by in ("sdg", "gcm"):
        body = client.get(f"{API}/rollup?by={by}&as_of=2022Q4&project=KGZ-EXAMPLE", headers=reviewer).json()
        assert body["groups"] == []


@pytest.fixture
def region(world: World, example, session):
    """Beside the example: a Serbian–Bosnian project funded by USAID with a standard indicator."""
    project = world.project("WB-STD", countries=("SRB", "BIH"), priorities=("SP1",), donors=("USAID",),
                            start="2022-01-01", end="2022-12-31")
    std = world.indicator(project, "S1", {"SRB": (0, 100), "BIH": (0, 50)}, standard="SP1.1")
    world.report(std, "SRB", "2022Q2", 60)  # 60 of 100 when the project ended in 2022Q4: not achieved
    world.report(std, "BIH", "2022Q3", 55)  # 110 %: achieved
    session.commit()
    return std


def test_standard_indicators_sum_across_lines(client, region, reviewer):
    body = client.get(f"{API}/rollup?by=priority&as_of=2022Q4", headers=reviewer).json()
    sp1 = next(g for g in body["groups"] if g["key"] == "SP1")
    # the whole target is due by 2022Q4 (the project's end): target to date 1 x 100 + 1 x 50
    assert sp1["standard_indicators"] == [{"code": "SP1.1", "measure": "number", "method": "sum", "actual": 115.0,
                                           "target": 150.0, "target_to_date": 150.0, "lines_with_data": 2}]
    by_country = {g["key"]: g for g in client.get(f"{API}/rollup?by=country&as_of=2022Q4&priority=SP1",
                                                  headers=reviewer).json()["groups"]}
    assert by_country["SRB"]["status_counts"]["not_achieved"] == 1  # ended at 60 %: final
    assert by_country["BIH"]["status_counts"]["achieved"] == 1
    assert by_country["BIH"]["mean_progress"] == 1.0  # 1.1 capped at 1
    lines = lines_by_code(client.get(f"{API}/indicator-lines?as_of=2022Q4&country=BIH", headers=reviewer))
    assert lines["S1"]["progress"] == pytest.approx(1.1) and lines["S1"]["achieved"] is True


def test_filters_narrow_the_lines(client, region, reviewer):
    def count(query: str) -> int:
        response = client.get(f"{API}/indicator-lines?as_of=2022Q4&{query}", headers=reviewer)
        assert response.status_code == 200, response.text
        return len(response.json())

    assert count("project=KGZ-EXAMPLE,WB-STD") == 5
    assert count("subregion=WB&project=KGZ-EXAMPLE,WB-STD") == 2
    assert count("country=kgz&project=KGZ-EXAMPLE,WB-STD") == 3
    assert count("donor=USAID") == 2
    assert count("donor=ECHO&project=KGZ-EXAMPLE") == 3
    assert count("priority=SP2&project=KGZ-EXAMPLE,WB-STD") == 1
    assert count("pillar=Resilience&project=KGZ-EXAMPLE,WB-STD") == 5
    assert count("marker=gender&project=KGZ-EXAMPLE,WB-STD") == 3
    assert count("status=no_data&project=KGZ-EXAMPLE,WB-STD") == 1
    response = client.get(f"{API}/indicator-lines?as_of=2022Q4&project=KGZ-EXAMPLE,WB-STD&limit=2", headers=reviewer)
    assert len(response.json()) == 2 and response.headers["X-Total-Count"] == "5"
    # The same filters in a roll-up: SP1 in the Western Balkans only.
    body = client.get(f"{API}/rollup?by=priority,subregion&as_of=2022Q4&subregion=WB", headers=reviewer).json()
    assert [g["key"] for g in body["groups"]] == [["SP1", "WB"]] and body["groups"][0]["lines"] == 2


def test_officer_sees_only_lines_of_its_countries(client, session, region):
    kgz = factories.token(session, "country_officer", countries=["KGZ"])
    srb = factories.token(session, "country_officer", countries=["SRB"])
    tjk = factories.token(session, "country_officer", countries=["TJK"])
    assert {line["country"] for line in client.get(f"{API}/indicator-lines?as_of=2022Q4", headers=kgz).json()} == {"KGZ"}
    srb_lines = client.get(f"{API}/indicator-lines?as_of=2022Q4", headers=srb).json()
    assert [(line["indicator_code"], line["country"]) for line in srb_lines] == [("S1", "SRB")]  # not BIH
    assert client.get(f"{API}/indicator-lines?as_of=2022Q4", headers=tjk).json() == []
    assert client.get(f"{API}/rollup?by=country&as_of=2022Q4", headers=tjk).json()["groups"] == []
    body = client.get(f"{API}/rollup?by=country&as_of=2022Q4", headers=srb).json()
    assert [g["key"] for g in body["groups"]] == ["SRB"]
    # Asking for another country's lines gives nothing, not them.
    assert client.get(f"{API}/indicator-lines?as_of=2022Q4&country=KGZ", headers=srb).json() == []


def test_donor_viewer_sees_only_its_donors_projects(client, session, region):
    usaid = factories.token(session, "donor_viewer", donors=["USAID"])
    lines = client.get(f"{API}/indicator-lines?as_of=2022Q4", headers=usaid).json()
    assert {line["project_code"] for line in lines} == {"WB-STD"}
    body = client.get(f"{API}/rollup?by=country&as_of=2022Q4", headers=usaid).json()
    assert sorted(g["key"] for g in body["groups"]) == ["BIH", "SRB"]
    assert client.get(f"{API}/completeness?period=2022Q4", headers=usaid).json()["groups"][0]["key"] in ("BIH", "SRB")


def test_an_approval_is_visible_in_the_very_next_read(client, world, example, session, reviewer):
    rid = session.exec(select(Result.id).where(Result.indicator_id == example["I1"],
                                               Result.period_code == "2022Q3")).one()
    before = lines_by_code(client.get(f"{API}/indicator-lines?as_of=2022Q4&project=KGZ-EXAMPLE", headers=reviewer))
    assert before["I1"]["actual"] == 200
    response = client.post(f"{API}/results/{rid}/approve", headers=reviewer)
    assert response.status_code == 200, response.text
    after = lines_by_code(client.get(f"{API}/indicator-lines?as_of=2022Q4&project=KGZ-EXAMPLE", headers=reviewer))
    assert after["I1"]["actual"] == 230
    body = client.get(f"{API}/rollup?by=country&as_of=2022Q4&project=KGZ-EXAMPLE", headers=reviewer).json()
    assert body["groups"][0]["mean_progress"] == pytest.approx((0.575 + 0.25) / 2)
    # And reopening takes it out again.
    response = client.post(f"{API}/results/{rid}/reopen", json={"reason": "typo in the source"}, headers=reviewer)
    assert response.status_code == 200, response.text
    again = lines_by_code(client.get(f"{API}/indicator-lines?as_of=2022Q4&project=KGZ-EXAMPLE", headers=reviewer))
    assert again["I1"]["actual"] == 200


def test_changing_targets_and_dates_moves_the_figures(client, world, example, session, reviewer):
    from mne.indicators.schemas import IndicatorUpdate
    from mne.projects.schemas import ProjectUpdate

    officer = world.officer("KGZ")
    indicator, project = indicators.get(session, officer, example["I1"])
    indicators.update(session, officer, indicator, project, IndicatorUpdate(targets=[{"country": "KGZ", "target": 200}],
                                                                                reason="the donor halved it"))
    session.commit()
    lines = lines_by_code(client.get(f"{API}/indicator-lines?as_of=2022Q4&project=KGZ-EXAMPLE", headers=reviewer))
    assert lines["I1"]["progress"] == pytest.approx(1.0) and lines["I1"]["achieved"] is True
    # Ending the project on 2022-12-31 makes everything due by 2022Q4: I2's r = 0.25 -> off track.
    projects.update(session, officer, project, ProjectUpdate(end_date=date(2022, 12, 31)))
    session.commit()
    lines = lines_by_code(client.get(f"{API}/indicator-lines?as_of=2022Q4&project=KGZ-EXAMPLE", headers=reviewer))
    assert lines["I1"]["expected"] == 1.0 and lines["I2"]["expected"] == 1.0


def test_completeness_for_a_period(client, world, example, session, reviewer):
    # 2022Q4: I1 and I2 reported (approved), I3 not. Submitted today, long after the due date.
    body = client.get(f"{API}/completeness?period=2022Q4&project=KGZ-EXAMPLE", headers=reviewer).json()
    assert body["period"] == "2022Q4" and body["by"] == "country"
    assert body["groups"] == [{"key": "KGZ", "label": "Kyrgyzstan", "expected": 3, "reported": 2, "on_time": 0,
                               "rate": pytest.approx(2 / 3), "on_time_rate": 0.0}]
    # A result first submitted on its due date is on time, though returned and sent again later.
    result = session.exec(select(Result).where(Result.indicator_id == example["I1"],
                                               Result.period_code == "2022Q4")).one()
    result.first_submitted_at = datetime(2023, 1, 30, 17, tzinfo=UTC)
    result.submitted_at = datetime(2023, 2, 20, 9, tzinfo=UTC)
    session.add(result)
    snapshots.mark_lines(session, [(result.indicator_id, result.country_iso3)])  # written past the services
    session.commit()
    body = client.get(f"{API}/completeness?period=2022Q4&project=KGZ-EXAMPLE", headers=reviewer).json()
    assert body["groups"][0]["on_time"] == 1
    # The year adds its four quarters up: 3 lines expected each quarter.
    body = client.get(f"{API}/completeness?period=2022&project=KGZ-EXAMPLE&by=priority", headers=reviewer).json()
    assert body["period"] == "2022"
    groups = {g["key"]: g for g in body["groups"]}
    assert groups["SP1"]["expected"] == 8 and groups["SP1"]["reported"] == 6  # I1 Q1-Q4, I2 Q2, Q4
    assert groups["SP2"]["expected"] == 4 and groups["SP2"]["reported"] == 0


def test_projects_not_active_in_the_period_are_not_expected(client, world, example, session, reviewer):
    body = client.get(f"{API}/completeness?period=2021Q4&project=KGZ-EXAMPLE", headers=reviewer).json()
    assert body["groups"] == [{"key": "KGZ", "label": "Kyrgyzstan", "expected": 0, "reported": 0, "on_time": 0,
                               "rate": None, "on_time_rate": None}]


@pytest.mark.parametrize("path, field", [
    ("/rollup?by=colour", "by"),
    ("/rollup?by=priority,priority", "by"),
    ("/rollup?by=priority,country,donor", "by"),
    ("/rollup?by=", None),  # empty means the default
    ("/rollup?as_of=2022Q5", "as_of"),
    ("/rollup?as_of=last-quarter", "as_of"),
    ("/rollup?as_of=1999Q1", "as_of"),
    ("/indicator-lines?as_of=22Q4", "as_of"),
    ("/indicator-lines?include_pending=maybe", "include_pending"),
    ("/indicator-lines?status=great", "status"),
    ("/indicator-lines?limit=0", "limit"),
    ("/indicator-lines?gcm=seven", "gcm"),
    ("/completeness?period=Q4", "period"),
    ("/completeness?by=country,country", "by"),
    ("/rollup?by=gcm&gcm=x", "gcm"),
])
def test_bad_input_is_422_naming_the_field(client, reviewer, path, field):
    response = client.get(API + path, headers=reviewer)
    if field is None:
        assert response.status_code == 200
        return
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in [d["field"] for d in error["details"]], error


def test_signed_out_callers_get_401(client):
    for path in ("/indicator-lines", "/rollup", "/completeness"):
        response = client.get(API + path)
        assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_default_as_of_is_the_latest_ended_period(client, reviewer):
    body = client.get(f"{API}/rollup", headers=reviewer).json()
    assert body["as_of"] == "2024Q4" and body["by"] == "priority"  # all seeded periods ended by now


@pytest.mark.parametrize("path", [
    "/rollup?country=%00", "/rollup?donor=%00&by=donor", "/indicator-lines?marker=%00", "/completeness?priority=%00",
    "/rollup?as_of=%00", "/rollup?by=%00",
])
def test_nul_characters_are_bad_input_not_a_crash(client, reviewer, path):
    response = client.get(API + path, headers=reviewer)
    assert response.status_code in (400, 422), response.text  # PostgreSQL cannot compare NUL
    assert response.json()["error"]["code"] in ("invalid", "bad_request")


# --- SPEC worked example 2 (rev. 2) through the API -------------------------------------------

@pytest.fixture
def example_2(session):
    ids = build_spec_example_2(session)
    session.commit()
    return ids


def test_spec_worked_example_2_lines(client, example_2, reviewer):
    q4 = lines_by_code(client.get(f"{API}/indicator-lines?as_of=2022Q4", headers=reviewer))
    assert (q4["P1"]["actual"], q4["P1"]["progress"], q4["P1"]["status"]) == (65, pytest.approx(1.125), "achieved")
    assert q4["P1"]["achieved"] is True
    assert (q4["P2"]["actual"], q4["P2"]["expected"], q4["P2"]["progress"], q4["P2"]["status"]) == \
           (30, pytest.approx(0.5), pytest.approx(0.5), "on_track")
    assert (q4["P3"]["expected"], q4["P3"]["progress"], q4["P3"]["status"]) == \
           (pytest.approx(0.5), pytest.approx(0.32), "at_risk")
    q3 = lines_by_code(client.get(f"{API}/indicator-lines?as_of=2022Q3", headers=reviewer))
    assert (q3["P3"]["expected"], q3["P3"]["status"]) == (pytest.approx(181 / 730), "on_track")
    s1 = lines_by_code(client.get(f"{API}/indicator-lines?as_of=2020Q1", headers=reviewer))["S1"]
    assert (s1["actual"], s1["progress"], s1["expected"], s1["status"]) == \
           (150, pytest.approx(0.5), pytest.approx(456 / 1096), "on_track")


def test_spec_worked_example_2_rollup(client, example_2, reviewer):
    body = client.get(f"{API}/rollup?by=priority&as_of=2022Q4", headers=reviewer).json()
    sp4 = next(g for g in body["groups"] if g["key"] == "SP4")
    assert {k: v for k, v in sp4["status_counts"].items() if v} == {"achieved": 1, "on_track": 1, "at_risk": 1}
    assert round(sp4["mean_progress"], 4) == 0.6067 and sp4["on_track_share"] == pytest.approx(2 / 3)
    assert sp4["regressing"] == 0
    assert sp4["standard_indicators"] == [{"code": "SP4.3", "measure": "percentage", "method": "ratio",
                                           "actual": 45.56, "target": 55.0, "target_to_date": None,
                                           "lines_with_data": 2}]


def test_spec_worked_example_2_completeness(client, example_2, reviewer):
    def geo(period: str) -> dict:
        body = client.get(f"{API}/completeness?period={period}&country=GEO", headers=reviewer).json()
        return {k: body["groups"][0][k] for k in ("expected", "reported")}
    assert geo("2022Q4") == {"expected": 2, "reported": 1}  # P2 and P3 due; P2 reported
    assert geo("2022Q3") == {"expected": 1, "reported": 0}  # P3 not due in Q3


def test_a_returned_result_keeps_its_first_submission(client, world, example, session, reviewer):
    officer = factories.token(session, "country_officer", countries=["KGZ"])
    rid = session.exec(select(Result.id).where(Result.indicator_id == example["I1"],
                                               Result.period_code == "2022Q3")).one()
    first = client.get(f"{API}/results?project=KGZ-EXAMPLE&period=2022Q3", headers=reviewer).json()
    first = next(r for r in first if r["id"] == rid)
    assert first["first_submitted_at"] == first["submitted_at"] is not None
    assert client.post(f"{API}/results/{rid}/return", json={"note": "check"}, headers=reviewer).status_code == 200
    assert client.post(f"{API}/results/{rid}/submit", headers=officer).status_code == 200
    again = client.get(f"{API}/results?project=KGZ-EXAMPLE&period=2022Q3", headers=reviewer).json()
    again = next(r for r in again if r["id"] == rid)
    assert again["first_submitted_at"] == first["first_submitted_at"]
    assert again["submitted_at"] > first["submitted_at"]
