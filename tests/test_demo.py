"""`mne seed demo`: deterministic, realistic, consistent with the schema's rules, and careful.

One scale-1 demo database per backend is built once and read by most tests; the tests that
need a database of their own (determinism, refusal) build small fresh SQLite ones.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from mne.auth.principal import Principal
from mne.base import Role
from mne.db import engine_for
from mne.demo.generator import DemoRefused, DemoReport, demo_users, seed_demo
from mne.filters import Filters
from mne.models import (
    Country, Donor, Indicator, IndicatorTarget, LineSummary, Period, PeriodTarget, Project, ProjectCountry,
    ProjectDonor, ProjectPriority, Result, StandardIndicator, User, UserCountry,
)
from mne.progress import service
from mne.projects.models import PROJECT_CODE_PATTERN
from mne.reference.periods import resolve_as_of
from mne.users import security
from mne.unit_of_work import UnitOfWork

from tests.conftest import BACKENDS, fresh_database, pg_database_url


@dataclass
class Demo:
    url: str
    report: DemoReport
    calls: list[tuple[int, int]]

    def session(self) -> Session:
        return UnitOfWork(engine_for(self.url))


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory) -> Demo:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    else:
        url = pg_database_url("demo")
    fresh_database(url)
    calls: list[tuple[int, int]] = []
    report = seed_demo(engine_for(url), scale=1, seed=1, progress=lambda d, t: calls.append((d, t)))
    return Demo(url, report, calls)


def _rows(url: str, model) -> list[tuple]:
    table = model.__table__
    with engine_for(url).connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]


def _results(s: Session, *extra):
    """All results as plain rows (attribute access like the model, ten times faster to load)."""
    table = Result.__table__
    stmt = (select(table, *extra).join(Indicator, Indicator.id == table.c.indicator_id)
            .join(Project, Project.id == Indicator.project_id))
    return s.connection().execute(stmt).all()


def _lines(s: Session):
    """Every indicator line with what its reporting and progress depend on."""
    return s.exec(select(IndicatorTarget.indicator_id, IndicatorTarget.country_iso3, IndicatorTarget.baseline,
                         IndicatorTarget.target, IndicatorTarget.opening_actual, Indicator.aggregation,
                         Indicator.reporting_frequency, Project.start_date, Project.end_date)
                  .join(Indicator, Indicator.id == IndicatorTarget.indicator_id)
                  .join(Project, Project.id == Indicator.project_id)).all()


def _is_due(frequency: str, period: Period, end: date) -> bool:
    """SPEC §3: every quarter; Q2 and Q4; Q4; the period in which the project ends."""
    return {"quarterly": True, "semiannual": period.end_date.month in (6, 12),
            "annual": period.end_date.month == 12,
            "endline": period.start_date <= end <= period.end_date}[frequency]


# --- volume and shape ---------------------------------------------------------------------

def test_counts_at_scale_one(demo):
    r = demo.report
    assert 340 <= r.projects <= 400 and r.donors == 36
    assert 25_000 <= r.results <= 40_000, "scale 30 should come near a million results"
    with demo.session() as s:
        assert s.exec(select(func.count()).select_from(Project)).one() == r.projects
        assert s.exec(select(func.count()).select_from(Project).where(Project.is_demo.is_(False))).one() == 0
        assert s.exec(select(func.count()).select_from(Indicator)).one() == r.indicators
        assert s.exec(select(func.count()).select_from(IndicatorTarget)).one() == r.lines
        assert s.exec(select(func.count()).select_from(Result)).one() == r.results
        assert s.exec(select(func.count()).select_from(Donor)).one() == 36
        per_project = Counter(s.exec(select(Indicator.project_id)))
        countries = Counter(s.exec(select(ProjectCountry.project_id)))
        codes = s.exec(select(Project.code)).all()
        leads = Counter(s.exec(select(ProjectCountry.country_iso3)))
    assert len(per_project) == r.projects and set(per_project.values()) <= set(range(3, 9))
    assert set(countries.values()) == {1, 2, 3}
    assert all(re.match(PROJECT_CODE_PATTERN, c) for c in codes) and len(set(codes)) == len(codes)
    assert len(leads) == 20 and leads["UKR"] > leads["MNE"] > 0 and leads["TUR"] > leads["TKM"]
    assert demo.calls[-1] == (r.projects, r.projects)
    assert [d for d, _ in demo.calls] == sorted(d for d, _ in demo.calls)


def test_project_structure(demo):
    with demo.session() as s:
        projects = s.exec(select(Project)).all()
        primaries = Counter(s.exec(select(ProjectPriority.project_id).where(ProjectPriority.position == 0)))
        donations = defaultdict(list)
        for d in s.exec(select(ProjectDonor)):
            donations[d.project_id].append(d.amount_usd)
        first, last_due = s.exec(select(func.min(Period.start_date), func.max(Period.due_date))).one()
    assert all(primaries[p.id] == 1 for p in projects)
    assert all(p.budget_usd == sum(donations[p.id]) and min(donations[p.id]) > 0 for p in projects)
    assert all(p.start_date <= p.end_date and p.end_date >= first for p in projects)
    statuses = Counter(p.status for p in projects)
    assert statuses["active"] and statuses["closed"]
    # Dated from the periods: "today" is the last period's due date, not the clock.
    assert all((p.status == "closed") == (p.end_date < last_due) for p in projects)
    assert all((p.status == "pipeline") == (p.start_date > last_due) for p in projects)


# --- determinism ----------------------------------------------------------------------------

def test_same_seed_gives_the_same_rows_and_another_seed_others(demo, tmp_path, monkeypatch):
    # Argon2 is slow by design and its salted hashes differ anyway; they are not compared here.
    monkeypatch.setattr(security, "hash_password", lambda password: "not-a-hash")
    same = fresh_database(f"sqlite:///{tmp_path / 'same.db'}")
    other = fresh_database(f"sqlite:///{tmp_path / 'other.db'}")
    seed_demo(engine_for(same), scale=1, seed=1)
    seed_demo(engine_for(other), scale=1, seed=2)
    for model in (Project, ProjectDonor, Indicator, IndicatorTarget, PeriodTarget, Result):
        assert _rows(same, model) == _rows(demo.url, model), model.__tablename__
    assert _rows(other, Project) != _rows(demo.url, Project)
    assert _rows(other, Result) != _rows(demo.url, Result)


def test_demo_users_follow_the_seed_and_can_sign_in(demo):
    users = demo_users(1)
    assert users == demo_users(1) and [u[2] for u in users] != [u[2] for u in demo_users(2)]
    emails = {u[0] for u in users}
    assert {"admin@mne.example", "reviewer@mne.example", "officer.kgz@mne.example",
            "officer.wb@mne.example", "officer.ukr@mne.example", "donor.echo@mne.example"} <= emails
    assert {r for _, r, *_ in users} == {"admin", "regional_reviewer", "country_officer", "donor_viewer"}
    assert [(e, r, p) for e, r, p, _c, _d in users] == demo.report.users
    with demo.session() as s:
        for n, (email, role, password, countries, _donors) in enumerate(users):
            security.check_password_policy(password, email)
            assert len(password) >= 12 and re.search(r"[A-Z]", password) and re.search(r"\d", password)
            user = s.exec(select(User).where(User.email == email)).one()
            assert user.is_demo and user.role == role
            if n < 3:  # Argon2 is slow on purpose: a few sign-ins prove the printed passwords work
                assert security.verify_password(user.password_hash, password)
            scope = set(s.exec(select(UserCountry.country_iso3).where(UserCountry.user_id == user.id)))
            assert scope == set(countries)
    wb = next(u for u in users if u[0] == "officer.wb@mne.example")
    assert sorted(wb[3]) == sorted(["ALB", "BIH", "XKX", "MNE", "MKD", "SRB"])


# --- the schema's rules hold ------------------------------------------------------------------

def test_indicators_respect_the_measure_rules(demo):
    with demo.session() as s:
        indicators = {i.id: i for i in s.exec(select(Indicator))}
        targets = s.exec(select(IndicatorTarget)).all()
        standards = {x.code: x for x in s.exec(select(StandardIndicator))}
        milestones = s.exec(select(PeriodTarget)).all()
        ranges = s.exec(select(Indicator.measure, func.min(Result.value), func.max(Result.value))
                        .join(Result, Result.indicator_id == Indicator.id).group_by(Indicator.measure)).all()
    for i in indicators.values():
        assert i.aggregation != "sum" or i.direction == "increase"
        assert i.measure != "percentage" or i.aggregation == "latest"
        if i.standard_indicator_code:
            std = standards[i.standard_indicator_code]
            assert (i.measure, i.aggregation, i.priority_code) == (std.measure, std.aggregation, std.priority_code)
    for t in targets:
        i = indicators[t.indicator_id]
        assert t.target > 0 if i.aggregation == "sum" else t.target != t.baseline
        assert i.measure != "percentage" or 0 <= t.baseline <= 100 and 0 <= t.target <= 100
    linked = sum(1 for i in indicators.values() if i.standard_indicator_code)
    assert 0.45 < linked / len(indicators) < 0.9  # about half: a standard is linked once per project
    kinds = Counter((i.aggregation, i.measure, i.direction) for i in indicators.values())
    assert kinds[("sum", "number", "increase")] and kinds[("latest", "percentage", "increase")]
    assert kinds[("latest", "number", "decrease")]
    dis = Counter(i.disaggregation for i in indicators.values())
    assert dis["none"] > dis["sex"] > dis["sex_age"] > 0
    assert milestones and all(m.target >= 0 for m in milestones)
    assert all(lo >= 0 for _, lo, _ in ranges)
    assert all(hi <= 100 for measure, _, hi in ranges if measure == "percentage")


def test_standard_indicators_are_linked_within_their_priority_and_measure(demo):
    with demo.session() as s:
        standards = {x.code: x for x in s.exec(select(StandardIndicator))}
        priorities = defaultdict(set)
        for pp in s.exec(select(ProjectPriority)):
            priorities[pp.project_id].add(pp.priority_code)
        indicators = s.exec(select(Indicator)).all()
        ratios = s.exec(select(Result.numerator.is_not(None)).join(Indicator, Indicator.id == Result.indicator_id)
                        .where(Indicator.standard_indicator_code == "SP4.3")).all()
    linked = Counter()
    for i in indicators:
        assert i.priority_code in priorities[i.project_id]
        if i.standard_indicator_code:
            std = standards[i.standard_indicator_code]
            assert (i.priority_code, i.measure) == (std.priority_code, std.measure), i.standard_indicator_code
            linked[std.code] += 1
    assert set(linked) == set(standards), "every standard indicator is used"
    # The percentage standard indicator: a ratio roll-up needs numerators on most of its results.
    assert standards["SP4.3"].measure == "percentage" and linked["SP4.3"] >= 20
    assert sum(ratios) / len(ratios) > 0.7


def test_disaggregated_results_add_up(demo):
    with demo.session() as s:
        rows = _results(s, Indicator.disaggregation, Indicator.measure)
    seen = Counter()
    for r in rows:
        disaggregation = r.disaggregation
        seen[disaggregation, r.measure] += 1
        if disaggregation == "none":
            assert r.female is r.male is r.other is r.age_0_17 is None
            continue
        if r.measure == "percentage":  # each group's own percentage: they need not add up
            assert 0 <= r.female <= 100 and 0 <= r.male <= 100 and r.age_0_17 is None
            continue
        assert r.female + r.male + r.other == r.value
        assert min(r.female, r.male, r.other) >= 0 and r.value == int(r.value)
        if disaggregation == "sex_age":
            assert r.age_0_17 + r.age_18_59 + r.age_60_plus == r.value
            assert min(r.age_0_17, r.age_18_59, r.age_60_plus) >= 0
        else:
            assert r.age_0_17 is None
    assert seen["sex", "number"] and seen["sex_age", "number"] and seen["sex", "percentage"]


def test_percentage_results_carry_numerator_and_denominator(demo):
    with demo.session() as s:
        rows = _results(s, Indicator.measure, Indicator.disaggregation)
    percentages = [r for r in rows if r.measure == "percentage"]
    with_ratio = [r for r in percentages if r.numerator is not None]
    assert all(r.numerator is r.denominator is None for r in rows if r.measure == "number")
    assert all((r.numerator is None) == (r.denominator is None) for r in percentages)
    assert 0.7 < len(with_ratio) / len(percentages) < 0.97, "most, not all, as real data is"
    for r in with_ratio:
        assert 0 <= r.numerator <= r.denominator and r.denominator > 0
        assert abs(r.value - 100 * r.numerator / r.denominator) <= 0.01
        assert r.value == round(100 * r.numerator / r.denominator, 2)
    # By sex, percentages of each group, not counts that add up to the whole.
    by_sex = [r for r in percentages if r.disaggregation == "sex"]
    assert by_sex and sum(r.female + r.male != r.value for r in by_sex) > len(by_sex) / 2


# --- the mess of real reporting ---------------------------------------------------------------

def test_workflow_fields_are_consistent(demo):
    with demo.session() as s:
        periods = {p.code: p for p in s.exec(select(Period))}
        results = _results(s)
        scopes = defaultdict(set)
        for uc in s.exec(select(UserCountry)):
            scopes[uc.user_id].add(uc.country_iso3)
        approvers = set(s.exec(select(User.id).where(User.role.in_(("admin", "regional_reviewer")))))
    for r in results:
        p = periods[r.period_code]
        assert r.created_at.tzinfo is not None and r.created_at.astimezone(UTC).date() > p.end_date
        assert r.version in (1, 2) and r.updated_at >= r.created_at
        assert r.country_iso3 in scopes[r.created_by_id]
        assert bool(r.review_note) == (r.status == "returned")
        if r.status == "draft":
            assert r.submitted_at is r.submitted_by_id is r.approved_at is r.first_submitted_at is None
            assert r.version == 1
            continue
        assert r.submitted_at > r.created_at and r.submitted_by_id == r.created_by_id
        # The first submission ever: earlier than the last only if returned and submitted again.
        assert r.first_submitted_at is not None and r.first_submitted_at > r.created_at
        if r.version == 1:
            assert r.first_submitted_at == r.submitted_at
        else:
            assert r.first_submitted_at < r.submitted_at
            if r.status == "submitted":  # returned in between
                assert r.first_submitted_at < r.reviewed_at < r.submitted_at
        if r.status == "approved":
            assert r.approved_at > r.submitted_at and r.approved_by_id in approvers
            assert r.updated_at == r.approved_at
        else:
            assert r.approved_at is None and r.approved_by_id is None
        if r.status == "returned":
            assert r.reviewed_at > r.submitted_at and r.reviewed_by_id in approvers


def test_reporting_has_the_usual_mess(demo):
    with demo.session() as s:
        periods = {p.code: p for p in s.exec(select(Period))}
        last = max(periods.values(), key=lambda p: p.end_date).code
        results = _results(s)
        lines = _lines(s)
    by_status = Counter(r.status for r in results)
    assert by_status["approved"] / len(results) > 0.8
    recent = Counter(r.status for r in results if r.period_code == last)
    assert recent["submitted"] and recent["draft"] and recent["returned"]
    assert recent["approved"] / sum(recent.values()) < 0.8 * by_status["approved"] / len(results)
    # On time or late is judged by the first submission (SPEC §5).
    late = [r for r in results if r.first_submitted_at
            and r.first_submitted_at.date() > periods[r.period_code].due_date]
    assert 0.02 < len(late) / len(results) < 0.2
    assert by_status["returned"] and any(r.version == 2 for r in results)
    reported = defaultdict(set)
    for r in results:
        reported[(r.indicator_id, r.country_iso3)].add(r.period_code)
    gaps = 0
    for line in lines:
        active = {p.code for p in periods.values() if p.end_date >= line.start_date and p.start_date <= line.end_date}
        due = {c for c in active if _is_due(line.reporting_frequency, periods[c], line.end_date)}
        assert reported[(line.indicator_id, line.country_iso3)] <= active  # never outside the project's life
        gaps += bool(due - reported[(line.indicator_id, line.country_iso3)])
    assert 0.1 < gaps / len(lines) < 0.8


def test_reporting_frequencies_are_mixed_and_followed(demo):
    with demo.session() as s:
        periods = {p.code: p for p in s.exec(select(Period))}
        indicators = s.exec(select(Indicator.level, Indicator.reporting_frequency)).all()
        rows = _results(s, Indicator.reporting_frequency, Project.end_date)
    shares = {f: n / len(indicators) for f, n in Counter(f for _, f in indicators).items()}
    assert 0.55 < shares["quarterly"] < 0.75 and 0.09 < shares["semiannual"] < 0.21
    assert 0.05 < shares["annual"] < 0.15 and 0.05 < shares["endline"] < 0.15
    by_level = {level: Counter(f for lv, f in indicators if lv == level) for level in ("output", "outcome")}
    rare = {level: (c["annual"] + c["endline"]) / sum(c.values()) for level, c in by_level.items()}
    assert by_level["output"]["quarterly"] / sum(by_level["output"].values()) > 0.7
    assert rare["outcome"] > 2 * rare["output"]
    # Lines report in their due periods, with some interim values between them.
    due = Counter((r.reporting_frequency, _is_due(r.reporting_frequency, periods[r.period_code], r.end_date))
                  for r in rows)
    for frequency in ("semiannual", "annual"):
        in_due = due[frequency, True] / (due[frequency, True] + due[frequency, False])
        assert 0.75 < in_due < 1, frequency
    assert due["endline", True] and due["endline", False]
    assert not due["quarterly", False]


def test_opening_actuals_only_on_sum_lines_of_projects_begun_before_2020(demo):
    with demo.session() as s:
        first = s.exec(select(func.min(Period.start_date))).one()
        lines = _lines(s)
    eligible = [ln for ln in lines if ln.aggregation == "sum" and ln.start_date < first]
    for ln in lines:
        assert ln.opening_actual >= 0
        if ln.opening_actual > 0:
            assert ln.aggregation == "sum" and ln.start_date < first and ln.start_date < date(2020, 1, 1)
    opened = [ln.opening_actual / ln.target for ln in eligible if ln.opening_actual > 0]
    assert len(eligible) > 100 and 0.75 < len(opened) / len(eligible) < 1
    assert max(opened) <= 0.5 and 0.1 <= sorted(opened)[len(opened) // 2] <= 0.4


def test_ended_projects_are_mostly_achieved(demo):
    """SPEC §5 final statuses as of the last period, from approved results: achieved when
    progress >= 1, for about three lines in four. Computed here from the rows, not by the
    progress engine."""
    with demo.session() as s:
        last = s.exec(select(func.max(Period.end_date))).one()
        periods = {p.code: p for p in s.exec(select(Period))}
        lines = _lines(s)
        rows = _results(s)
        ended_lately = s.exec(select(func.count()).select_from(Project)
                              .where(Project.end_date >= date(2022, 1, 1), Project.end_date <= last)).one()
    approved = defaultdict(list)
    for r in rows:
        if r.status == "approved":
            approved[r.indicator_id, r.country_iso3].append((periods[r.period_code].end_date, r.value))
    ended = [ln for ln in lines if ln.end_date <= last]
    assert ended_lately > 80, "the last periods show final statuses of many projects"
    progress = []
    for ln in ended:
        counted = sorted(approved[ln.indicator_id, ln.country_iso3])
        if ln.aggregation == "sum":
            if counted or ln.opening_actual > 0:
                progress.append((ln.opening_actual + sum(v for _, v in counted)) / ln.target)
        elif counted:
            progress.append((counted[-1][1] - ln.baseline) / (ln.target - ln.baseline))
    achieved = sum(p >= 1 for p in progress) / len(progress)
    assert 0.70 <= achieved <= 0.80, achieved
    assert len(progress) / len(ended) > 0.9  # few ended lines without data


def test_the_regional_dashboard_reads_mostly_on_track(demo):
    """As of 2024Q4 with approved results only, read through the product's roll-up as the
    regional reviewer sees it: about three lines in four on track or achieved; the priority x
    subregion matrix mostly green (>= 75 %) and amber (>= 50 %), a red cell at most now and then."""
    reviewer = Principal(id=0, email="reviewer@test.example", name="", role=Role.regional_reviewer)
    with demo.session() as s:
        as_of = resolve_as_of(s, "2024Q4")
        cells = service.rollup(s, reviewer, ("priority", "subregion"), Filters(), as_of)
        subregions = set(s.exec(select(Country.subregion_code)))
        running = Counter(s.exec(select(LineSummary.status)
                                 .join(Project, Project.id == LineSummary.project_id)
                                 .where(LineSummary.period_code == "2024Q4", LineSummary.expected > 0,
                                        Project.end_date > as_of.end)))
    on_track = sum(c.tally.counts["on_track"] + c.tally.counts["achieved"] for c in cells)
    share = on_track / sum(c.tally.due for c in cells)
    assert 0.72 <= share <= 0.78, share
    shares = sorted(c.tally.on_track_share for c in cells)
    assert len(cells) == 4 * len(subregions) == 20
    assert sum(x < 0.5 for x in shares) <= 2 and sum(x >= 0.75 for x in shares) >= 5, shares
    assert shares[-1] - shares[0] >= 0.25, "portfolios differ: some cells strong, some weak"
    # Running projects' lines with something due: mostly on track, the rest at risk or off track.
    due = sum(running.values())
    assert 0.65 <= running["on_track"] / due <= 0.75, running
    assert 0.12 <= running["at_risk"] / due <= 0.18 and 0.10 <= running["off_track"] / due <= 0.15, running
    assert running["no_data"] / due <= 0.04 and not running["achieved"] and not running["not_achieved"]


# --- care with other people's data --------------------------------------------------------------

def test_refuses_a_database_with_projects_it_did_not_create(tmp_path):
    url = fresh_database(f"sqlite:///{tmp_path / 'real.db'}")
    with UnitOfWork(engine_for(url)) as s:
        s.add(Project(code="REAL-001", title="A real project", start_date=datetime(2021, 1, 1).date(),
                      end_date=datetime(2022, 12, 31).date()))
        s.commit()
    with pytest.raises(DemoRefused, match="did not create"):
        seed_demo(engine_for(url))
    with UnitOfWork(engine_for(url)) as s:  # nothing was written, not even users or donors
        assert s.exec(select(func.count()).select_from(Project)).one() == 1
        assert s.exec(select(func.count()).select_from(User)).one() == 0
        assert s.exec(select(func.count()).select_from(Donor)).one() == 0


def test_refuses_to_load_twice(demo):
    with pytest.raises(DemoRefused, match="already loaded"):
        seed_demo(engine_for(demo.url))
    with demo.session() as s:
        assert s.exec(select(func.count()).select_from(Project)).one() == demo.report.projects


def test_ids_continue_after_the_demo(demo):
    """PostgreSQL sequences are moved past the precomputed ids, so the app can insert."""
    engine = engine_for(demo.url)
    with engine.connect() as conn, conn.begin() as tx:
        with UnitOfWork(bind=conn) as s:
            project = Project(code="AFTER-DEMO", title="Made after the demo",
                              start_date=datetime(2024, 1, 1).date(), end_date=datetime(2024, 12, 31).date())
            s.add(project)
            s.flush()
            assert project.id > demo.report.projects
        tx.rollback()


def test_returned_results_carry_their_conversation(demo):
    """Each returned result's note opens its conversation (by its reviewer, at the return), some
    officers answered it, and results returned once and sent again show the note and the fix."""
    from mne.comments.service import comments_for

    with demo.session() as s:
        returned = s.exec(select(Result).where(Result.status == "returned")).all()
        resent = s.exec(select(Result).where(Result.status == "submitted", Result.version > 1)).all()
        conversations = comments_for(s, [r.id for r in returned + resent])
        everyone = comments_for(s, s.exec(select(Result.id)).all())
    assert returned and resent
    assert sum(map(len, everyone.values())) == sum(map(len, conversations.values()))  # nowhere else
    answered = 0
    for r in returned:
        first, *rest = conversations[r.id]
        assert (first.kind, first.text, first.author_id, first.created_at) == (
            "returned", r.review_note, r.reviewed_by_id, r.reviewed_at)
        assert all(c.kind == "comment" and c.created_at > first.created_at for c in rest)
        if rest:
            answered += 1
            assert rest[0].author_id == r.submitted_by_id  # the officer answers first
    assert 0.2 < answered / len(returned) < 0.7
    for r in resent:
        note, fix = conversations[r.id]
        assert note.kind == "returned" and note.author_id == r.reviewed_by_id and note.created_at == r.reviewed_at
        assert fix.kind == "comment" and fix.author_id == r.submitted_by_id
        assert r.reviewed_at <= fix.created_at <= r.submitted_at
