"""The precomputed summaries always equal a recomputation from scratch with the pure rules.

A random series of writes goes through the real services (results and their workflow,
indicator targets and milestones, project dates, a new period); after each commit the stored
``line_summary`` rows are compared with ``rules.evaluate_line`` on lines read straight from
the ORM, and the roll-ups and completeness the service adds up (from ``region_summary``,
``project_summary`` and ``line_summary``) with the oracle's (``tests/progress_oracle.py``)
roll-up and completeness over those lines.
"""

from __future__ import annotations

import os
import random
from dataclasses import astuple
from datetime import date

import pytest
from sqlalchemy import delete
from sqlmodel import Session, select

from mne.auth.principal import Principal
from mne.base import Role
from mne.errors import DomainError
from mne.filters import Filters
from mne.indicators import service as indicators
from mne.indicators.models import Indicator, IndicatorTarget, PeriodTarget
from mne.indicators.schemas import IndicatorUpdate
from mne.progress import rules, service, snapshots
from mne.progress.models import LineSummary, ProjectSummary, RegionSummary
from mne.projects import service as projects
from mne.projects.models import Project, ProjectCountry, ProjectDonor
from mne.projects.schemas import ProjectUpdate
from mne.reference.models import Country, Period, Priority
from mne.reference.periods import all_periods, resolve_as_of
from mne.results import service as results
from mne.results.models import Result
from mne.results.schemas import ResultWrite
from mne.unit_of_work import UnitOfWork
from tests.conftest import BACKENDS
from tests import progress_oracle as oracle
from tests.progress_world import World, open_periods

MEASURES = {f"SP{p}.{n}": "number" for p in range(1, 5) for n in range(1, 4)} | {"SP4.3": "percentage"}
REGION = Principal(id=0, email="x@test.example", name="", role=Role.regional_reviewer)
QUARTERS_2022 = ("2022Q1", "2022Q2", "2022Q3", "2022Q4")


def lines_from_scratch(session: Session) -> list[rules.Line]:
    """Every line built from the ORM rows, independently of the snapshot loader."""
    periods = {p.code: rules.PeriodInfo(p.code, p.start_date, p.end_date, p.due_date)
               for p in session.exec(select(Period))}
    pillar = dict(session.exec(select(Priority.code, Priority.pillar)).all())
    subregion = dict(session.exec(select(Country.iso3, Country.subregion_code)).all())
    out = []
    for target in session.exec(select(IndicatorTarget)):
        ind = session.get(Indicator, target.indicator_id)
        project = session.get(Project, ind.project_id)
        res = session.exec(select(Result).where(Result.indicator_id == ind.id,
                                                Result.country_iso3 == target.country_iso3)).all()
        pts = session.exec(select(PeriodTarget).where(PeriodTarget.indicator_id == ind.id,
                                                      PeriodTarget.country_iso3 == target.country_iso3)).all()
        donors = session.exec(select(ProjectDonor.donor_code).where(ProjectDonor.project_id == project.id)).all()
        out.append(rules.Line(
            indicator_id=ind.id, indicator_code=ind.code, project_code=project.code, country=target.country_iso3,
            aggregation=ind.aggregation, direction=ind.direction, baseline=target.baseline, target=target.target,
            project_start=project.start_date, project_end=project.end_date,
            results=[rules.LineResult(periods[r.period_code], r.value, r.status, r.submitted_at, r.id, r.numerator,
                                      r.denominator, r.first_submitted_at) for r in res],
            period_targets=[(periods[p.period_code], p.target) for p in pts],
            standard_indicator=ind.standard_indicator_code, measure=ind.measure,
            reporting_frequency=ind.reporting_frequency, opening_actual=target.opening_actual,
            keys={"priority": ind.priority_code, "pillar": pillar[ind.priority_code],
                  "country": target.country_iso3, "subregion": subregion[target.country_iso3],
                  "project": project.code, "donor": list(donors), "region": "all"},
        ))
    return out


def assert_summaries_match(session: Session) -> int:
    session.commit()
    session.expire_all()
    periods = all_periods(session)
    lines = lines_from_scratch(session)
    stored = {(s.indicator_id, s.country_iso3, s.period_code): s for s in session.exec(select(LineSummary))}
    assert len(stored) == len(lines) * len(periods)
    approx = pytest.approx
    for line in lines:
        for period in periods:
            row = stored[(line.indicator_id, line.country, period.code)]
            for suffix, pending in (("", False), ("_pending", True)):
                lp = rules.evaluate_line(line, period, pending, periods)
                got = tuple(getattr(row, name + suffix) for name in ("actual", "progress", "status", "achieved",
                                                                       "numerator", "denominator")) + (row.expected,)
                want = (lp.actual, lp.progress, lp.status, lp.achieved, lp.numerator, lp.denominator, lp.expected)
                assert got == approx(want), (line.indicator_code, line.country, period.code, suffix)
    for period in periods[::3] + periods[-1:]:  # spot-check the sums on a few periods
        for pending in (False, True):
            evaluated = [rules.evaluate_line(line, period, pending, periods) for line in lines]
            for by in (("priority", "country"), ("pillar",), ("subregion",), ("donor",), ("priority", "donor")):
                want = {g.key: g for g in oracle.rollup(evaluated, by)}
                got = {g.key: g.tally for g in service.rollup(session, REGION, by, Filters(), period, pending)}
                assert set(got) == set(want), (by, period.code)
                for key, g in want.items():
                    t = got[key]
                    assert (t.lines, t.counts) == (g.lines, g.status_counts), (by, key, period.code, pending)
                    assert t.mean_progress == approx(g.mean_progress) and t.on_track_share == approx(g.on_track_share)
                    assert t.regressing == g.regressing
                    assert [astuple(f) for f in t.standard_indicators(MEASURES)] == \
                           [approx(astuple(f)) for f in g.standard_indicators], (by, key, period.code, pending)
        for filters, keep in ((Filters(), lambda line: True),
                              (Filters(donor=("USAID",)), lambda line: "USAID" in line.keys["donor"])):
            point = {p.period: p.tally for p in service.trend(session, REGION, filters, period)}[period.code]
            evaluated = [rules.evaluate_line(line, period, periods=periods) for line in lines if keep(line)]
            if not evaluated:
                assert point.lines == 0
                continue
            (want,) = oracle.rollup(evaluated, ("region",))  # all the lines as one group: the trend point
            assert point.lines == want.lines and point.counts["on_track"] == want.status_counts["on_track"]
            assert point.mean_progress == approx(want.mean_progress)
            assert point.on_track_share == approx(want.on_track_share)
        cls = [rules.CompletenessLine(keys=line.keys, project_start=line.project_start, project_end=line.project_end,
                                      result_status=next((r.status for r in line.results if r.period.code == period.code), None),
                                      first_submitted_at=next((r.first_submitted_at for r in line.results
                                                               if r.period.code == period.code), None),
                                      reporting_frequency=line.reporting_frequency)
               for line in lines]
        for by in (("country",), ("donor",)):
            want = {g.key: g for g in oracle.completeness(cls, period, by)}
            got = {g.key: g.tally for g in service.completeness(session, REGION, by, [period], Filters())}
            assert {k: (t.expected_lines, t.reported, t.on_time) for k, t in got.items()} == \
                   {k: (g.expected, g.reported, g.on_time) for k, g in want.items()}
    return len(lines)


def random_writes(world: World, session: Session, rng: random.Random, steps: int) -> None:
    """Writes of every kind the app makes, through the services; refused ones are fine."""
    lines = session.exec(select(IndicatorTarget.indicator_id, IndicatorTarget.country_iso3)).all()
    for _ in range(steps):
        iid, country = rng.choice(lines)
        officer = world.officer(country)
        action = rng.choice(("put", "put", "put", "submit", "approve", "approve", "return", "reopen",
                             "target", "milestones", "dates"))
        existing = session.exec(select(Result).where(Result.indicator_id == iid, Result.country_iso3 == country)).all()
        try:
            with session.begin_nested():
                if action == "put":
                    period = rng.choice(QUARTERS_2022)
                    current = next((r for r in existing if r.period_code == period), None)
                    ratio = {}
                    if session.get(Indicator, iid).measure == "percentage" and rng.random() < 0.8:
                        numerator, denominator = rng.randint(0, 40), rng.randint(40, 60)
                        ratio = {"numerator": numerator, "denominator": denominator}
                    results.put_result(session, officer, ResultWrite(
                        indicator_id=iid, country=country, period=period,
                        value=None if ratio else rng.randint(0, 60), **ratio,
                        version=current.version if current else None))
                elif action in ("submit", "approve", "return", "reopen") and existing:
                    r = rng.choice(existing)
                    if action == "submit":
                        results.submit(session, officer, r.id)
                    elif action == "approve":
                        results.approve(session, world.reviewer, r.id)
                    elif action == "return":
                        results.return_(session, world.reviewer, r.id, "please check")
                    else:
                        results.reopen(session, world.reviewer, r.id, "wrong source")
                elif action == "target":
                    ind, project = indicators.get(session, officer, iid)
                    targets = [{"country": t.country_iso3, "baseline": t.baseline,
                                "target": t.target if t.country_iso3 != country else rng.choice((50, 120, 300))}
                               for t in session.exec(select(IndicatorTarget).where(IndicatorTarget.indicator_id == iid))]
                    indicators.update(session, officer, ind, project, IndicatorUpdate(targets=targets, reason="revised"))
                elif action == "milestones":
                    ind, project = indicators.get(session, officer, iid)
                    milestones = [] if rng.random() < 0.3 else [
                        {"country": country, "period": q, "target": rng.randint(5, 40)}
                        for q in rng.sample(QUARTERS_2022, 2)]
                    indicators.update(session, officer, ind, project, IndicatorUpdate(period_targets=milestones, reason="revised"))
                elif action == "dates":
                    ind = session.get(Indicator, iid)
                    project = session.get(Project, ind.project_id)
                    end = rng.choice((date(2022, 9, 30), date(2023, 6, 30), date(2024, 12, 31)))
                    projects.update(session, world.officer(
                        session.exec(select(ProjectCountry.country_iso3)
                                     .where(ProjectCountry.project_id == project.id)).first()),
                        project, ProjectUpdate(end_date=end))
        except DomainError:
            pass  # e.g. approving a draft, editing an approved result: refused, nothing changed
        if rng.random() < 0.25:
            session.commit()


@pytest.fixture
def small_region(session) -> World:
    open_periods(session, *QUARTERS_2022)
    world = World(session)
    a = world.project("SUM-KGZ", countries=("KGZ", "TJK"), priorities=("SP1", "SP2"), donors=("ECHO", "USAID"))
    world.indicator(a, "A1", {"KGZ": (0, 200), "TJK": (0, 100)}, standard="SP1.1")
    world.indicator(a, "A2", {"KGZ": (40, 20)}, aggregation="latest", direction="decrease", priority="SP2")
    world.indicator(a, "A3", {"TJK": (10, 60)}, aggregation="latest", period_targets=[("TJK", "2022Q2", 20)])
    b = world.project("SUM-SRB", countries=("SRB",), priorities=("SP4",), donors=("USAID",),
                      start="2021-07-01", end="2022-12-31")
    world.indicator(b, "B1", {"SRB": (0, 80)}, priority="SP4", standard="SP4.1")
    world.indicator(b, "B2", {"SRB": (0, 40)}, priority="SP4", reporting_frequency="semiannual")
    world.indicator(b, "B3", {"SRB": (20, 60)}, priority="SP4", standard="SP4.3", measure="percentage",
                    aggregation="latest")
    c = world.project("SUM-GEO", countries=("GEO",), priorities=("SP4",), start="2019-01-01", end="2024-06-30")
    world.indicator(c, "C1", {"GEO": (10, 50)}, priority="SP4", standard="SP4.3", measure="percentage",
                    aggregation="latest", reporting_frequency="annual")
    world.indicator(c, "C2", {"GEO": (0, 300, 90)}, priority="SP4", reporting_frequency="endline")
    return world


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_summaries_equal_a_recomputation_after_random_writes(session, small_region, seed):
    rng = random.Random(seed)
    assert assert_summaries_match(session) == 9
    for _ in range(3):
        random_writes(small_region, session, rng, 25)
        assert_summaries_match(session)


def test_a_new_period_gets_rows_for_every_line(session, small_region):
    from mne.reference import service as reference
    from mne.reference.schemas import PeriodCreate

    small_region.report(session.exec(select(Indicator.id).where(Indicator.code == "A1")).first(), "KGZ", "2022Q1", 20)
    reference.create_period(session, PeriodCreate(code="2025Q1"), actor_id=None)
    assert assert_summaries_match(session) == 9
    assert session.exec(select(RegionSummary).where(RegionSummary.period_code == "2025Q1")).first() is not None


def test_a_period_added_on_the_admin_page_gets_rows_for_every_line(client, session, small_region):
    """The period service marks the new period; the page's own transaction settles it."""
    from tests import factories

    small_region.report(session.exec(select(Indicator.id).where(Indicator.code == "B1")).first(), "SRB", "2022Q2", 30)
    session.commit()
    factories.user(session, "admin", email="periods.admin@test.example")
    csrf = factories.sign_in(client, "periods.admin@test.example")
    response = client.post("/admin/periods", follow_redirects=False, data={
        "csrf_token": csrf, "code": "2025Q2", "start_date": "", "end_date": "", "due_date": ""})
    assert response.status_code == 303, response.text
    assert assert_summaries_match(session) == 9
    assert session.exec(select(LineSummary).where(LineSummary.period_code == "2025Q2")).all()


def test_a_write_past_the_services_reaches_the_summaries_once_marked(session, small_region):
    """A result written without the services (as factories do) reaches the summaries when the
    writer marks its line, as the services do: the commit settles it."""
    iid = session.exec(select(Indicator.id).where(Indicator.code == "B2")).one()
    session.add(Result(indicator_id=iid, country_iso3="SRB", period_code="2022Q2", value=12, status="approved"))
    snapshots.mark_lines(session, [(iid, "SRB")])
    assert assert_summaries_match(session) == 9
    row = session.get(LineSummary, (iid, "SRB", "2022Q4"))
    assert row.actual == 12


def test_rebuild_all_gives_the_same_rows(session, small_region):
    rng = random.Random(7)
    random_writes(small_region, session, rng, 30)
    session.commit()

    tables = (LineSummary, RegionSummary, ProjectSummary)

    def dump():
        return [sorted(tuple(r) for r in session.execute(select(t.__table__))) for t in tables]

    before = dump()
    session.execute(delete(RegionSummary))
    snapshots.rebuild_all(session.connection())
    after = dump()
    assert [len(rows) for rows in after] == [len(rows) for rows in before]
    for old, new in zip(sum(before, []), sum(after, []), strict=True):
        assert [v if isinstance(v, str) else pytest.approx(v) for v in old] == list(new)


def test_a_failed_savepoint_keeps_the_earlier_changes_marked(session, small_region):
    """A refused write inside a savepoint must not make the transaction forget what changed before it."""
    world = small_region
    iid = session.exec(select(Indicator.id).where(Indicator.code == "B1")).one()
    world.report(iid, "SRB", "2022Q1", 30)
    with pytest.raises(DomainError), session.begin_nested():
        results.approve(session, world.reviewer, 10**9)  # no such result
    assert assert_summaries_match(session) == 9
    srb = next(g for g in service.rollup(session, REGION, ("country",), Filters(), resolve_as_of(session, "2022Q4"))
               if g.key == "SRB")
    assert srb.tally.with_data == 1


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="concurrent writers need PostgreSQL (SQLite has one writer at a time)")
def test_concurrent_writers_of_one_cell_leave_correct_sums(tmp_path):
    """Two transactions write lines of the same cell at the same moment; both commit; the sums
    are those of a recomputation (they queue on the cell's lock and re-read what the other did)."""
    import threading

    from mne.db import engine_for
    from tests.conftest import fresh_database, pg_database_url

    engine = engine_for(fresh_database(pg_database_url("concurrency")))
    with UnitOfWork(engine, expire_on_commit=False) as session:
        open_periods(session, *QUARTERS_2022)
        world = World(session)
        project = world.project("CONC-1", countries=("KGZ",), priorities=("SP1",))
        ids = [world.indicator(project, f"C{n}", {"KGZ": (0, 100)}) for n in range(6)]
        session.commit()
        officer, reviewer = world.officer("KGZ"), world.reviewer
    barrier = threading.Barrier(3)
    failures: list[BaseException] = []

    def writer(indicator_ids: list[int]) -> None:
        try:
            with UnitOfWork(engine, expire_on_commit=False) as s:
                for iid in indicator_ids:
                    rid = results.put_result(s, officer, ResultWrite(indicator_id=iid, country="KGZ", period="2022Q2",
                                                                     value=40)).id
                    results.submit(s, officer, rid)
                    results.approve(s, reviewer, rid)
                barrier.wait(timeout=10)  # both are about to commit (and add up the same cell)
                s.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(ids[:3],)), threading.Thread(target=writer, args=(ids[3:],))]
    for t in threads:
        t.start()
    barrier.wait(timeout=10)
    for t in threads:
        t.join(timeout=30)
    assert failures == []
    with UnitOfWork(engine) as session:
        assert assert_summaries_match(session) == 6
        q4 = resolve_as_of(session, "2022Q4")
        (kgz,) = service.rollup(session, REGION, ("country",), Filters(), q4)
        assert kgz.tally.with_data == 6
    engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def demo_url(request, tmp_path_factory) -> str:
    """A scale-1 demo database: the bulk path (PostgreSQL COPY, chunked loading) on real data."""
    from tests.conftest import demo_database, pg_database_url

    if request.param == "sqlite":
        return demo_database(f"sqlite:///{tmp_path_factory.mktemp('progress-demo') / 'demo.db'}", seed=3)
    return demo_database(pg_database_url("progress_demo"), seed=3)


def test_demo_summaries_equal_the_rules(demo_url):
    from mne.db import engine_for

    with UnitOfWork(engine_for(demo_url)) as session:
        periods = all_periods(session)
        loaded = snapshots.load_lines(session.connection(), session.exec(select(Indicator.id)).all(), periods,
                                      with_keys=True)
        lines = [item.line for item in loaded]
        assert len(lines) > 3000
        stored = {(s.indicator_id, s.country_iso3, s.period_code): s for s in session.exec(select(LineSummary))}
        assert len(stored) == len(lines) * len(periods)
        for line in lines[::7]:
            for period in periods:
                row, lp = stored[(line.indicator_id, line.country, period.code)], rules.evaluate_line(line, period, True, periods)
                assert (row.actual_pending, row.progress_pending, row.status_pending) == \
                       (pytest.approx(lp.actual), pytest.approx(lp.progress), lp.status)
        as_of = periods[-1]
        evaluated = [rules.evaluate_line(line, as_of, periods=periods) for line in lines]
        for by in (("priority", "subregion"), ("donor",), ("marker", "pillar")):
            want = {g.key: g for g in oracle.rollup(evaluated, by)}
            got = {g.key: g.tally for g in service.rollup(session, REGION, by, Filters(), as_of)}
            assert set(got) == set(want), by
            for key, g in want.items():
                assert (got[key].lines, got[key].counts) == (g.lines, g.status_counts), (by, key)
                assert got[key].mean_progress == pytest.approx(g.mean_progress), (by, key)
                assert got[key].regressing == g.regressing, (by, key)
                assert [astuple(f) for f in got[key].standard_indicators(MEASURES)] == \
                       [pytest.approx(astuple(f)) for f in g.standard_indicators], (by, key)


def test_rebuild_summaries_command(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "MNE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    mne = [sys.executable, "-c", "from mne.cli import main; main()"]
    for args in (["db", "upgrade"], ["seed", "reference"]):
        subprocess.run(mne + args, env=env, check=True, capture_output=True, timeout=120)
    done = subprocess.run(mne + ["db", "rebuild-summaries"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "progress summaries rebuilt for 0 indicator lines" in done.stdout
