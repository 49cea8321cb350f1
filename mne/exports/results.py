"""``results.csv``: one row per result, the SPEC's columns in the SPEC's order (SPEC §6)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from mne.auth import scope
from mne.exports import cells
from mne.exports.request import ExportRequest
from mne.indicators.models import Indicator, IndicatorTarget
from mne.projects.models import Project, ProjectDonor
from mne.reference.models import Country, Priority
from mne.reference.schemas import KOSOVO, KOSOVO_FOOTNOTE
from mne.results.models import Result

COLUMNS = ("project_code", "project_title", "donors", "priority", "pillar", "subregion", "country_iso3", "country",
           "indicator_code", "indicator", "level", "measure", "aggregation", "direction", "baseline", "target",
           "period", "value", "numerator", "denominator", "female", "male", "other", "status", "narrative",
           "means_of_verification", "submitted_at", "approved_at")
BATCH = 2000  # rows fetched from the cursor at a time


def conditions(request: ExportRequest) -> list:
    """The results a request selects, over Result + Indicator + Project."""
    principal = request.principal
    where = [scope.visible_projects(principal), *scope.line_clause(principal, Result.country_iso3),
             request.filters.line_clause(Result.country_iso3)]
    if request.ranged:
        where.append(Result.period_code.in_(request.period_codes))
    if request.result_statuses:
        where.append(Result.status.in_(list(request.result_statuses)))
    return where


def _base(columns, request: ExportRequest):
    return (select(*columns).select_from(Result)
            .join(Indicator, Indicator.id == Result.indicator_id)
            .join(Project, Project.id == Indicator.project_id)
            .where(*conditions(request)))


def count(conn: Connection, request: ExportRequest) -> int:
    return conn.execute(_base([func.count()], request)).scalar_one()


def query(request: ExportRequest):
    r, i, p = Result.__table__.c, Indicator.__table__.c, Project.__table__.c
    t, c, pr = IndicatorTarget.__table__.c, Country.__table__.c, Priority.__table__.c
    return (_base([p.id, p.code, p.title, i.priority_code, pr.pillar, c.subregion_code, r.country_iso3, c.name,
                   i.code, i.statement, i.level, i.measure, i.aggregation, i.direction, t.baseline, t.target,
                   r.period_code, r.value, r.numerator, r.denominator, r.female, r.male, r.other, r.status,
                   r.narrative, r.means_of_verification, r.submitted_at, r.approved_at], request)
            .join(Country, Country.iso3 == Result.country_iso3)
            .join(Priority, Priority.code == Indicator.priority_code)
            .outerjoin(IndicatorTarget, and_(IndicatorTarget.indicator_id == Result.indicator_id,
                                             IndicatorTarget.country_iso3 == Result.country_iso3))
            .order_by(p.code, i.position, i.code, r.country_iso3, r.period_code))


def donors_by_project(conn: Connection) -> dict[int, str]:
    """Each project's donors, ``;``-separated (small: one entry per project)."""
    found: dict[int, list[str]] = defaultdict(list)
    for project_id, code in conn.execute(select(ProjectDonor.project_id, ProjectDonor.donor_code)
                                         .order_by(ProjectDonor.project_id, ProjectDonor.donor_code)):
        found[project_id].append(code)
    return {k: "; ".join(v) for k, v in found.items()}


def country_name(iso3: str, name: str) -> str:
    """A country as exports name it; Kosovo with its footnote in the cell itself, so every
    row that lists it carries it (a CSV has no place for a footnote outside its rows)."""
    return f"{name} ({KOSOVO_FOOTNOTE})" if iso3 == KOSOVO else name


def rows(conn: Connection, request: ExportRequest) -> Iterator[tuple]:
    """The rows as cells, fetched ``BATCH`` at a time from a server-side cursor."""
    donors = donors_by_project(conn)
    text, number, timestamp = cells.text, cells.number, cells.timestamp
    # Per statement: Connection.execution_options would turn every later statement into a cursor too.
    result = conn.execute(query(request), execution_options={"stream_results": True, "yield_per": BATCH})
    try:
        for (pid, pcode, title, priority, pillar, subregion, iso3, cname, icode, statement, level, measure,
             aggregation, direction, baseline, target, period, value, numerator, denominator, female, male, other,
             status, narrative, verification, submitted_at, approved_at) in result:
            yield (text(pcode), text(title), text(donors.get(pid, "")), priority, pillar, subregion, iso3,
                   text(country_name(iso3, cname)), text(icode), text(statement), level, measure, aggregation,
                   direction, number(baseline), number(target), period, number(value), number(numerator),
                   number(denominator), number(female), number(male), number(other), status, text(narrative),
                   text(verification), timestamp(submitted_at), timestamp(approved_at))
    finally:
        result.close()


def csv_chunks(conn: Connection, request: ExportRequest, *, bom: bool = True,
               track: cells.Track = cells.untracked) -> Iterator[bytes]:
    return cells.csv_chunks(COLUMNS, track(rows(conn, request)), bom=bom)
