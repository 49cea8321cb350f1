"""The Indicator Performance Tracking Table: one row per indicator line (SPEC §6).

Its progress columns (actual to date, % of target, status) are the dashboard's own figures:
the rows of ``line_summary`` the API's ``/indicator-lines`` reads, selected by the same
``progress.service.line_conditions``. Per period of the range it shows the period's target
(a period target, where the line has one) and its actual (the counted result of that period:
approved, or submitted too with ``include_pending``). Lines are read from a server-side cursor
and their period values fetched a batch of lines at a time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from mne.exports import cells
from mne.exports.request import ExportRequest
from mne.indicators.models import Indicator, PeriodTarget
from mne.progress import service
from mne.progress.service import LS
from mne.projects.models import Project
from mne.reference.models import Country
from mne.results.models import Result

LEADING = ("project_code", "project_title", "indicator_code", "indicator", "level", "measure", "aggregation",
           "direction", "priority", "country_iso3", "country", "baseline", "target")
TRAILING = ("actual_to_date", "percent_of_target", "status")
LINES_PER_BATCH = 500


def header(request: ExportRequest) -> list[str]:
    per_period = [f"{p.code} {what}" for p in request.periods for what in ("target", "actual")]
    return [*LEADING, *per_period, *TRAILING]


@dataclass
class Line:
    indicator_id: int
    country: str
    leading: tuple
    actual: float | None
    progress: float | None
    status: str
    targets: dict[str, float] = field(default_factory=dict)
    actuals: dict[str, float] = field(default_factory=dict)


def _query(request: ExportRequest):
    i, c = Indicator.__table__.c, Country.__table__.c
    conditions = service.line_conditions(request.principal, request.filters, request.as_of,
                                         request.include_pending, status=request.status)
    source = (LS.join(Indicator.__table__, i.id == LS.c.indicator_id)
              .join(Project.__table__, Project.id == LS.c.project_id)
              .join(Country.__table__, c.iso3 == LS.c.country_iso3))
    actual, progress, _expected, status, _achieved = service.line_figures(request.include_pending)
    return (select(LS.c.indicator_id, LS.c.country_iso3, Project.code, Project.title, i.code, i.statement, i.level,
                   i.measure, i.aggregation, i.direction, LS.c.priority_code, c.name, LS.c.baseline, LS.c.target,
                   actual, progress, status)
            .select_from(source).where(*conditions).order_by(*service.line_order()))


def count(conn: Connection, request: ExportRequest) -> int:
    conditions = service.line_conditions(request.principal, request.filters, request.as_of,
                                         request.include_pending, status=request.status)
    return conn.execute(select(func.count()).select_from(LS).where(*conditions)).scalar_one()


def _fill(conn: Connection, request: ExportRequest, batch: Sequence[Line]) -> None:
    """The batch's period targets and counted period actuals within the range. Selected by
    indicator alone (the leading column of both tables' keys) and sifted here, so the plan
    never hangs on planner statistics (with none, a period-and-status index visits every result)."""
    by_key = {(line.indicator_id, line.country): line for line in batch}
    ids = sorted({line.indicator_id for line in batch})
    periods, counted = set(request.period_codes), set(request.counted_statuses)
    for iid, country, period, target in conn.execute(
            select(PeriodTarget.indicator_id, PeriodTarget.country_iso3, PeriodTarget.period_code, PeriodTarget.target)
            .where(PeriodTarget.indicator_id.in_(ids))):
        if period in periods and (line := by_key.get((iid, country))) is not None:
            line.targets[period] = target
    for iid, country, period, status, value in conn.execute(
            select(Result.indicator_id, Result.country_iso3, Result.period_code, Result.status, Result.value)
            .where(Result.indicator_id.in_(ids))):
        if period in periods and status in counted and (line := by_key.get((iid, country))) is not None:
            line.actuals[period] = value


def lines(conn: Connection, request: ExportRequest) -> Iterator[Line]:
    """Every line of the table, its period values filled in, in the API's order."""
    result = conn.execute(_query(request), execution_options={"stream_results": True, "yield_per": LINES_PER_BATCH})
    try:
        for partition in result.partitions():
            batch = [Line(row[0], row[1], tuple(row[2:14]), row[14], row[15], row[16]) for row in partition]
            _fill(conn, request, batch)
            yield from batch
    finally:
        result.close()


def percent(progress: float | None) -> float | str:
    """% of target as the CSV writes it (progress 1.125 → 112.5)."""
    return "" if progress is None else round(progress * 100, 2)


def csv_row(line: Line, periods: Sequence[str]) -> list:
    (pcode, title, icode, statement, level, measure, aggregation, direction, priority, cname, baseline,
     target) = line.leading
    text, number = cells.text, cells.number
    row = [text(pcode), text(title), text(icode), text(statement), level, measure, aggregation, direction, priority,
           line.country, text(cells.country_name(line.country, cname)), number(baseline), number(target)]
    for period in periods:
        row += [number(line.targets.get(period)), number(line.actuals.get(period))]
    return row + [number(line.actual), percent(line.progress), line.status]


def csv_chunks(conn: Connection, request: ExportRequest, *, bom: bool = True,
               track: cells.Track = cells.untracked) -> Iterator[bytes]:
    periods = request.period_codes
    return cells.csv_chunks(header(request), (csv_row(line, periods) for line in track(lines(conn, request))),
                            bom=bom)


def xlsx_chunks(conn: Connection, request: ExportRequest, *, track: cells.Track = cells.untracked
                ) -> Iterator[bytes]:
    """The workbook, built in XlsxWriter's constant-memory mode in a temporary file (a zip
    is complete only when closed), then sent in chunks."""
    from mne.exports.workbook import write_iptt

    with tempfile.TemporaryFile() as spool:
        write_iptt(spool, request, track(lines(conn, request)))
        spool.seek(0)
        while chunk := spool.read(256 * 1024):
            yield chunk
