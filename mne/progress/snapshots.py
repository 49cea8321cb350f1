"""Keeping the precomputed progress (``line_summary`` and its sums) equal to the rules.

Every figure stored here comes from ``rules.evaluate_line`` and ``rules.completeness_of``;
SQL only adds them up. The tables are brought up to date in the transaction that changes
what they derive from, so the next read sees an approval at once. One path does it:

- a write service marks what it changed (``mark_lines``, ``mark_indicator``,
  ``mark_project``, ``mark_period``, ``mark_every_line``) — a mark computes nothing;
- ``settle`` recomputes the marked lines with the rules and adds up again the sums they fall
  in ("cells": ``region_summary`` and ``project_summary`` rows), once per transaction; the
  unit of work (``mne.unit_of_work.UnitOfWork``) calls it just before every commit. A read
  never settles: it reads what the last commit left.

On PostgreSQL two transactions settling the same line or cell queue behind row and advisory
locks and then read what the other committed, so the last writer's sums are right.
``rebuild_all`` recomputes everything in bulk (the demo loader, ``mne db rebuild-summaries``,
``mne db upgrade`` when a migration left the tables empty).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Table, case, delete, func, insert, select, true, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from mne.bulk import insert_rows
from mne.dimensions import DIMENSIONS
from mne.dimensions import PROJECT as PROJECT_LEVEL
from mne.indicators.models import Indicator, IndicatorTarget, PeriodTarget
from mne.progress.models import LineSummary, ProjectSummary, RegionSummary
from mne.progress.rules import (
    PROGRESS_CAP,
    PROGRESS_FLOOR,
    STATUSES,
    CompletenessLine,
    Line,
    LineResult,
    PeriodInfo,
    completeness_of,
    evaluate_line,
    is_due,
)
from mne.projects.models import Project
from mne.reference.models import Period
from mne.reference.periods import periods_of
from mne.results.models import Result

LS: Table = LineSummary.__table__
REGION: Table = RegionSummary.__table__
PROJECT: Table = ProjectSummary.__table__
REGION_KEY = ("period_code", "priority_code", "country_iso3", "standard_code")
PROJECT_KEY = ("project_id", "period_code", "priority_code", "country_iso3")
# Indicators loaded per round trip when computing many lines (bounded memory, short IN lists).
CHUNK = 1000
BATCH_ROWS = 10_000
_STATE = "mne.progress.marks"


# --- loading lines ---------------------------------------------------------------------

@dataclass(frozen=True)
class LoadedLine:
    """A line as the rules see it, with the ids the summaries are keyed by."""
    line: Line
    project_id: int
    priority_code: str
    standard_code: str


def _project_keys(conn: Connection, project_ids: set[int]) -> dict[int, dict[str, list[str]]]:
    """The codes each project carries in every project-level dimension (tags, lead office)."""
    keys: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    ids = sorted(project_ids)
    for name, dim in DIMENSIONS.items():
        if dim.level != PROJECT_LEVEL:
            continue
        for start in range(0, len(ids), CHUNK):
            for pid, code in conn.execute(select(dim.project_key, dim.column)
                                          .where(dim.project_key.in_(ids[start:start + CHUNK]))
                                          .order_by(dim.project_key, dim.column)):
                if code is not None:
                    keys[pid][name].append(str(code))
    return keys


def _line_keys(priority: str, country: str, project_keys: dict[str, list[str]],
               via: dict[str, dict[str, str]]) -> dict[str, list[str] | str]:
    """A line's codes in every dimension of the registry."""
    own = {"priority_code": priority, "country_iso3": country}
    keys: dict[str, list[str] | str] = {}
    for name, dim in DIMENSIONS.items():
        if dim.level == PROJECT_LEVEL:
            keys[name] = project_keys.get(name, [])
        else:
            code = own[dim.line_column]
            keys[name] = via[name].get(code, "") if name in via else code
    return keys


def load_lines(conn: Connection, indicator_ids: Iterable[int], all_periods: Sequence[PeriodInfo],
               *, countries: set[tuple[int, str]] | None = None, with_keys: bool = False) -> list[LoadedLine]:
    """The lines of these indicators (only ``countries`` pairs when given), with their results
    and period targets. ``with_keys`` adds every roll-up dimension to ``Line.keys``."""
    ids = sorted(set(indicator_ids))
    by_code = {p.code: p for p in all_periods}
    out: list[LoadedLine] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        results: dict[tuple[int, str], list[LineResult]] = defaultdict(list)
        r = Result.__table__.c
        for iid, country, period, value, status, submitted_at, rid, numerator, denominator, first in conn.execute(
                select(r.indicator_id, r.country_iso3, r.period_code, r.value, r.status, r.submitted_at, r.id,
                       r.numerator, r.denominator, r.first_submitted_at)
                .where(r.indicator_id.in_(chunk))):
            results[(iid, country)].append(LineResult(by_code[period], float(value), status, submitted_at, rid,
                                                      numerator, denominator, first))
        targets: dict[tuple[int, str], list[tuple[PeriodInfo, float]]] = defaultdict(list)
        pt = PeriodTarget.__table__.c
        for iid, country, period, target in conn.execute(
                select(pt.indicator_id, pt.country_iso3, pt.period_code, pt.target).where(pt.indicator_id.in_(chunk))):
            targets[(iid, country)].append((by_code[period], float(target)))
        t, i, p = IndicatorTarget.__table__.c, Indicator.__table__.c, Project.__table__.c
        rows = conn.execute(
            select(t.indicator_id, t.country_iso3, t.baseline, t.target, i.code, i.aggregation, i.direction,
                   i.priority_code, i.standard_indicator_code, i.project_id, p.code, p.start_date, p.end_date,
                   i.measure, i.reporting_frequency, t.opening_actual)
            .join(Indicator.__table__, i.id == t.indicator_id).join(Project.__table__, p.id == i.project_id)
            .where(t.indicator_id.in_(chunk)).order_by(t.indicator_id, t.country_iso3)).all()
        if countries is not None:
            rows = [row for row in rows if (row[0], row[1]) in countries]
        extra: dict[int, dict[str, list[str]]] = {}
        via: dict[str, dict[str, str]] = {}
        if with_keys:
            extra = _project_keys(conn, {row[9] for row in rows})
            via = {name: {str(k): str(v) for k, v in conn.execute(select(*dim.via))}
                   for name, dim in DIMENSIONS.items() if dim.via is not None}
        for (iid, country, baseline, target, code, aggregation, direction, priority, standard, pid, pcode,
             pstart, pend, measure, frequency, opening) in rows:
            keys: dict[str, list[str] | str] = {"priority": priority, "country": country, "project": pcode}
            if with_keys:
                keys = _line_keys(priority, country, extra.get(pid, {}), via)
            line = Line(
                indicator_id=iid, indicator_code=code, project_code=pcode, country=country,
                aggregation=aggregation, direction=direction, baseline=float(baseline), target=float(target),
                project_start=pstart, project_end=pend, results=tuple(results.get((iid, country), ())),
                period_targets=tuple(targets.get((iid, country), ())), standard_indicator=standard,
                measure=measure, reporting_frequency=frequency, opening_actual=float(opening or 0), keys=keys,
            )
            out.append(LoadedLine(line, pid, priority, standard or ""))
    return out


# --- computing rows ---------------------------------------------------------------------

def summary_rows(loaded: LoadedLine, all_periods: Sequence[PeriodInfo],
                 rows_for: Sequence[PeriodInfo] | None = None) -> Iterator[dict]:
    """The ``line_summary`` rows of one line, one per period of ``rows_for`` (default: every
    period), straight from the rules; ``all_periods`` is the calendar the rules read D from."""
    line = loaded.line
    # Including pending results changes nothing when none is submitted: evaluate once.
    has_pending = any(r.status == "submitted" for r in line.results)
    by_period = {r.period.code: r for r in line.results}
    due = [p for p in all_periods if is_due(line.reporting_frequency, line.project_start, line.project_end, p)]
    for period in all_periods if rows_for is None else rows_for:
        # D found once per row; handing the rules D alone spares them a scan of every period.
        d = max((p for p in due if p.end <= period.end), key=lambda p: (p.end, p.code), default=None)
        calendar = [d] if d else []
        approved = evaluate_line(line, period, periods=calendar)
        pending = evaluate_line(line, period, include_pending=True, periods=calendar) if has_pending else approved
        own = by_period.get(period.code)
        report_due, reported, on_time = completeness_of(CompletenessLine(
            keys={}, project_start=line.project_start, project_end=line.project_end,
            result_status=own.status if own else None, first_submitted_at=own.first_submitted_at if own else None,
            reporting_frequency=line.reporting_frequency), period)
        yield {
            "indicator_id": line.indicator_id, "country_iso3": line.country, "period_code": period.code,
            "project_id": loaded.project_id, "priority_code": loaded.priority_code,
            "standard_code": loaded.standard_code, "baseline": line.baseline, "target": line.target,
            "expected": approved.expected,
            "actual": approved.actual, "progress": approved.progress, "status": approved.status,
            "achieved": approved.achieved, "numerator": approved.numerator, "denominator": approved.denominator,
            "actual_pending": pending.actual, "progress_pending": pending.progress,
            "status_pending": pending.status, "achieved_pending": pending.achieved,
            "numerator_pending": pending.numerator, "denominator_pending": pending.denominator,
            "report_due": report_due, "reported": reported, "on_time": on_time,
        }


def cell_aggregates(t: Table) -> list:
    """The sums a cell holds, over ``line_summary`` columns: aggregation only, no rule."""
    def count_if(condition) -> object:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    def total(expression) -> object:
        return func.coalesce(func.sum(expression), 0.0)

    columns = [func.count().label("lines"), count_if(t.c.expected > 0).label("due"),
               total(t.c.target).label("target_sum"), total(t.c.expected * t.c.target).label("target_to_date_sum")]
    for suffix in ("", "_pending"):
        status, progress = t.c["status" + suffix], t.c["progress" + suffix]
        numerator, denominator = t.c["numerator" + suffix], t.c["denominator" + suffix]
        clipped = case((progress > PROGRESS_CAP, PROGRESS_CAP), (progress < PROGRESS_FLOOR, PROGRESS_FLOOR),
                       else_=progress)  # rules.clipped, in SQL
        columns += [count_if(status == s).label(s + suffix) for s in STATUSES]
        columns += [
            count_if(t.c["achieved" + suffix].is_(True)).label("reached" + suffix),
            count_if(progress < 0).label("regressing" + suffix),
            func.count(progress).label("with_data" + suffix),
            total(clipped).label("progress_sum" + suffix),
            total(t.c["actual" + suffix]).label("actual_sum" + suffix),
            total(numerator).label("numerator_sum" + suffix),
            total(denominator).label("denominator_sum" + suffix),
            count_if(numerator.is_not(None) & denominator.is_not(None)).label("with_ratio" + suffix),
        ]
    columns += [count_if(t.c[c].is_(True)).label(c) for c in ("report_due", "reported", "on_time")]
    return columns


CELL_VALUES = tuple(c.name for c in REGION.columns if c.name not in REGION_KEY)


# --- writing ----------------------------------------------------------------------------

def _advisory_lock(conn: Connection, *parts: str) -> None:
    if conn.dialect.name == "postgresql":
        digest = hashlib.blake2b("|".join(("mne.summary",) + parts).encode(), digest_size=8).digest()
        conn.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest, "big", signed=True))))


def _lock_lines(conn: Connection, lines: list[tuple[int, str]]) -> None:
    """Queue behind other writers of the same lines (PostgreSQL; SQLite has one writer)."""
    if conn.dialect.name != "postgresql":
        return
    t = IndicatorTarget.__table__.c
    for start in range(0, len(lines), CHUNK):
        conn.execute(select(t.indicator_id).where(tuple_(t.indicator_id, t.country_iso3).in_(lines[start:start + CHUNK]))
                     .order_by(t.indicator_id, t.country_iso3).with_for_update(key_share=True)).all()


def _line_condition(lines: list[tuple[int, str]]):
    return tuple_(LS.c.indicator_id, LS.c.country_iso3).in_(lines)


def _refresh_lines(conn: Connection, lines: Iterable[tuple[int, str]]) -> tuple[set, set]:
    """Recompute the summary rows of these (indicator id, country) lines; a line that no longer
    exists loses its rows. Returns the region and project cells those rows were and are in."""
    wanted = sorted({(int(i), str(c)) for i, c in lines})
    cells: set[tuple[str, str, str]] = set()
    project_cells: set[tuple[int, str, str]] = set()
    if not wanted:
        return cells, project_cells
    _lock_lines(conn, wanted)
    all_periods = periods_of(conn)
    for start in range(0, len(wanted), CHUNK):
        part = wanted[start:start + CHUNK]
        condition = _line_condition(part)
        _remember_cells(conn, cells, project_cells, condition)
        conn.execute(delete(LS).where(condition))
        loaded = load_lines(conn, {i for i, _ in part}, all_periods, countries=set(part))
        rows = [row for item in loaded for row in summary_rows(item, all_periods)]
        insert_rows(conn, LS, rows)
        cells.update((item.priority_code, item.line.country, item.standard_code) for item in loaded)
        project_cells.update((item.project_id, item.priority_code, item.line.country) for item in loaded)
    return cells, project_cells


def _remember_cells(conn: Connection, cells: set, project_cells: set, condition) -> None:
    """The cells that summary rows about to change or go away were added up in."""
    for priority, country, standard, project_id in conn.execute(
            select(LS.c.priority_code, LS.c.country_iso3, LS.c.standard_code, LS.c.project_id)
            .where(condition).distinct()):
        cells.add((priority, country, standard))
        project_cells.add((project_id, priority, country))


def _lines_of(conn: Connection, *, indicator_ids: Iterable[int] = (), project_ids: Iterable[int] = ()
              ) -> set[tuple[int, str]]:
    """The lines that exist now, and those that still have summary rows (maybe just removed)."""
    indicator_ids, project_ids = sorted(set(indicator_ids)), sorted(set(project_ids))
    found: set[tuple[int, str]] = set()
    t, i = IndicatorTarget.__table__.c, Indicator.__table__.c
    if project_ids:
        indicator_ids = sorted(set(indicator_ids) | set(conn.execute(
            select(i.id).where(i.project_id.in_(project_ids))).scalars()))
        found.update(conn.execute(select(LS.c.indicator_id, LS.c.country_iso3)
                                  .where(LS.c.project_id.in_(project_ids)).distinct()).all())
    for start in range(0, len(indicator_ids), CHUNK):
        chunk = indicator_ids[start:start + CHUNK]
        found.update(conn.execute(select(t.indicator_id, t.country_iso3).where(t.indicator_id.in_(chunk))).all())
        found.update(conn.execute(select(LS.c.indicator_id, LS.c.country_iso3)
                                  .where(LS.c.indicator_id.in_(chunk)).distinct()).all())
    return found


def refresh_cells(conn: Connection, cells: Iterable[tuple[str, str, str]],
                  project_cells: Iterable[tuple[int, str, str]] = ()) -> None:
    """Add up again from their lines the region cells (priority, country, standard indicator)
    and the project cells (project, priority, country). Locks are taken in one global order
    (projects, then regions, each sorted) so concurrent writers queue instead of deadlocking."""
    cells, project_cells = sorted(set(cells)), sorted(set(project_cells))
    for project_id in sorted({p for p, _, _ in project_cells}):
        _advisory_lock(conn, "project", str(project_id))
    for cell in cells:
        _advisory_lock(conn, *cell)
    for start in range(0, len(project_cells), 200):
        part = project_cells[start:start + 200]
        conn.execute(delete(PROJECT).where(
            tuple_(PROJECT.c.project_id, PROJECT.c.priority_code, PROJECT.c.country_iso3).in_(part)))
        _insert_sums(conn, PROJECT, PROJECT_KEY,
                     tuple_(LS.c.project_id, LS.c.priority_code, LS.c.country_iso3).in_(part))
    for start in range(0, len(cells), 200):
        part = cells[start:start + 200]
        conn.execute(delete(REGION).where(
            tuple_(REGION.c.priority_code, REGION.c.country_iso3, REGION.c.standard_code).in_(part)))
        _insert_sums(conn, REGION, REGION_KEY, tuple_(LS.c.priority_code, LS.c.country_iso3, LS.c.standard_code).in_(part))


def _insert_sums(conn: Connection, table: Table, key: Sequence[str], where) -> None:
    keys = [LS.c[k] for k in key]
    query = select(*keys, *cell_aggregates(LS)).where(where).group_by(*keys)
    conn.execute(insert(table).from_select([*key, *CELL_VALUES], query))


def add_period(conn: Connection, code: str) -> None:
    """A new reporting period: every line gets its row for it, and the cells theirs."""
    _advisory_lock(conn, "period", code)
    all_periods = periods_of(conn)
    period = [p for p in all_periods if p.code == code]
    for table in (REGION, PROJECT, LS):
        conn.execute(delete(table).where(table.c.period_code == code))
    if not period:
        return
    for chunk in _indicator_chunks(conn):
        rows = [row for item in load_lines(conn, chunk, all_periods) for row in summary_rows(item, all_periods, period)]
        insert_rows(conn, LS, rows)
    _insert_sums(conn, REGION, REGION_KEY, LS.c.period_code == code)
    _insert_sums(conn, PROJECT, PROJECT_KEY, LS.c.period_code == code)


def _indicator_chunks(conn: Connection) -> Iterator[list[int]]:
    ids = list(conn.execute(select(Indicator.__table__.c.id).order_by(Indicator.__table__.c.id)).scalars())
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def rebuild_all(conn: Connection, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute both tables from scratch on this connection's transaction; returns the lines."""
    _advisory_lock(conn, "rebuild")
    for table in (REGION, PROJECT, LS):
        conn.execute(delete(table))
    all_periods = periods_of(conn)
    total = conn.execute(select(func.count()).select_from(IndicatorTarget.__table__)).scalar() or 0
    done = 0
    pending: list[dict] = []
    if progress:
        progress(0, total)
    for chunk in _indicator_chunks(conn):
        loaded = load_lines(conn, chunk, all_periods)
        for item in loaded:
            pending.extend(summary_rows(item, all_periods))
        if len(pending) >= BATCH_ROWS:
            insert_rows(conn, LS, pending)
            pending = []
        done += len(loaded)
        if progress:
            progress(done, total)
    insert_rows(conn, LS, pending)
    _insert_sums(conn, REGION, REGION_KEY, true())
    _insert_sums(conn, PROJECT, PROJECT_KEY, true())
    _analyze(conn)
    return done


def incomplete(conn: Connection) -> bool:
    """Whether some line lacks its row for some period (e.g. a migration just created the
    tables): ``rebuild_all`` is then due. Counts only, so it cannot tell stale figures."""
    lines = conn.execute(select(func.count()).select_from(IndicatorTarget.__table__)).scalar_one()
    period_count = conn.execute(select(func.count()).select_from(Period.__table__)).scalar_one()
    rows = conn.execute(select(func.count()).select_from(LS)).scalar_one()
    return rows != lines * period_count


def _analyze(conn: Connection) -> None:
    """Fresh planner statistics after a bulk load (both databases pick indexes by them)."""
    for name in (LS.name, REGION.name, PROJECT.name, "result", "indicator", "indicator_target", "period_target"):
        conn.exec_driver_sql(f"ANALYZE {name}")


# --- marking what a write made stale, settling it before commit ---------------------------
#
# A write service marks what it changed with one of the ``mark_*`` functions; nothing is
# computed then. ``settle`` recomputes everything marked, once, in the same transaction: the
# unit of work (``mne.unit_of_work.UnitOfWork``) calls it just before it commits. A bulk write
# (a bulk approval, an import) thus adds up each line and cell once, in a fixed order.

@dataclass
class _Marks:
    lines: set[tuple[int, str]] = field(default_factory=set)
    indicators: set[int] = field(default_factory=set)
    projects: set[int] = field(default_factory=set)
    periods: set[str] = field(default_factory=set)
    every_line: bool = False


def _marks(session: Session) -> _Marks:
    marks = session.info.get(_STATE)
    if marks is None:
        marks = session.info[_STATE] = _Marks()
    return marks


def mark_lines(session: Session, lines: Iterable[tuple[int, str]]) -> None:
    """These (indicator id, country) lines changed: a result, a target or a milestone."""
    _marks(session).lines.update((int(i), str(c)) for i, c in lines)


def mark_indicator(session: Session, indicator_id: int) -> None:
    """An indicator or its targets changed: all its lines, those it gained and those it lost."""
    _marks(session).indicators.add(indicator_id)


def mark_project(session: Session, project_id: int) -> None:
    """A project's dates moved: every line's expected progress follows them."""
    _marks(session).projects.add(project_id)


def mark_period(session: Session, code: str) -> None:
    """A new reporting period: every line gets its row for it."""
    _marks(session).periods.add(code)


def mark_every_line(session: Session) -> None:
    """A period's dates moved: which results count as of every later period moves too."""
    _marks(session).every_line = True


def forget(session: Session) -> None:
    """The transaction was rolled back, and with it what the marks were about."""
    session.info.pop(_STATE, None)


def settle(session: Session) -> None:
    """Bring every summary this transaction marked stale up to date (cheap if none is)."""
    marks = session.info.pop(_STATE, None)
    if marks is None:
        return
    session.flush()
    conn = session.connection()
    if marks.every_line:
        marks.projects.update(conn.execute(select(Project.__table__.c.id)).scalars())
    lines = marks.lines | _lines_of(conn, indicator_ids=marks.indicators, project_ids=marks.projects)
    cells, project_cells = _refresh_lines(conn, lines)
    for code in sorted(marks.periods):
        add_period(conn, code)
    refresh_cells(conn, cells, project_cells)
