"""``results.csv``: one row per result, the SPEC's columns in the SPEC's order (SPEC §6)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Text, and_, cast, func, select
from sqlalchemy.engine import Connection

from mne.auth import scope
from mne.exports import cells
from mne.exports.request import ExportRequest
from mne.indicators.models import Indicator, IndicatorTarget
from mne.projects.models import Project, ProjectDonor
from mne.reference.models import Country, Priority
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


def _donors():
    """Each project's donor codes, ``; ``-separated in code order: one row per project."""
    ordered = select(ProjectDonor.project_id, ProjectDonor.donor_code).order_by(
        ProjectDonor.project_id, ProjectDonor.donor_code).subquery()
    return (select(ordered.c.project_id, func.aggregate_strings(ordered.c.donor_code, "; ").label("codes"))
            .group_by(ordered.c.project_id).subquery("donors"))


def query(request: ExportRequest):
    """The rows, every cell formatted by the database (``cells``' SQL rules), in COLUMNS order."""
    r, i, p = Result.__table__.c, Indicator.__table__.c, Project.__table__.c
    t, c, pr = IndicatorTarget.__table__.c, Country.__table__.c, Priority.__table__.c
    donors = _donors()
    text, number, timestamp = cells.text_sql, cells.number_sql, cells.timestamp_sql
    country = cells.country_sql(r.country_iso3, c.name)
    cells_in_order = [
        text(p.code), text(p.title), text(donors.c.codes), i.priority_code, pr.pillar, c.subregion_code,
        r.country_iso3, text(country), text(i.code), text(i.statement), i.level, i.measure, i.aggregation,
        i.direction, number(t.baseline), number(t.target), r.period_code, number(r.value),
        cast(r.numerator, Text), cast(r.denominator, Text), number(r.female), number(r.male), number(r.other),
        r.status, text(r.narrative), text(r.means_of_verification), timestamp(r.submitted_at),
        timestamp(r.approved_at)]
    return (_base([cell.label(name) for cell, name in zip(cells_in_order, COLUMNS, strict=True)], request)
            .join(Country, Country.iso3 == Result.country_iso3)
            .join(Priority, Priority.code == Indicator.priority_code)
            .outerjoin(IndicatorTarget, and_(IndicatorTarget.indicator_id == Result.indicator_id,
                                             IndicatorTarget.country_iso3 == Result.country_iso3))
            .outerjoin(donors, donors.c.project_id == Project.id)
            .order_by(p.code, i.position, i.code, r.country_iso3, r.period_code))


def rows(conn: Connection, request: ExportRequest) -> Iterator[tuple]:
    """The rows as cells, fetched ``BATCH`` at a time from a server-side cursor."""
    # Per statement: Connection.execution_options would turn every later statement into a cursor too.
    result = conn.execute(query(request), execution_options={"stream_results": True, "yield_per": BATCH})
    try:
        yield from result
    finally:
        result.close()


def _copy_chunks(conn: Connection, request: ExportRequest, *, bom: bool) -> Iterator[bytes]:
    """PostgreSQL writes the CSV itself (COPY), from the same query, in the same transaction."""
    compiled = query(request).compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, HEADER)", compiled.params) as copy:
            # COPY sends a row at a time: gather them into chunks, or each row would cost a
            # trip through the threadpool and the event loop.
            buffer = bytearray(cells.BOM.encode() if bom else b"")
            for data in copy:
                buffer += data
                if len(buffer) >= cells.CHUNK_CHARS:
                    yield bytes(buffer)
                    buffer.clear()
            yield bytes(buffer)
    finally:
        cursor.close()


def csv_chunks(conn: Connection, request: ExportRequest, *, bom: bool = True,
               track: cells.Track | None = None) -> Iterator[bytes]:
    """The file. On PostgreSQL, unless each row is to be tracked (the CLI's progress bar), the
    database writes it with COPY at several times the speed of Python; the bytes are the same."""
    if track is None and conn.dialect.name == "postgresql":
        return _copy_chunks(conn, request, bom=bom)
    return cells.csv_chunks(COLUMNS, (track or cells.untracked)(rows(conn, request)), bom=bom)
