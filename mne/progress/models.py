"""Precomputed progress: one row per indicator line and as-of period, and sums of those rows.

Both tables are derived data, written only by ``mne.progress.snapshots`` in the same
transaction as the change they follow (a result, an indicator, a project's dates, a new
period), so a read never sees them stale. ``mne db rebuild-summaries`` rebuilds them whole.

- ``line_summary``: what ``rules.evaluate_line`` says about a line as of each period, with
  approved results only and with pending ones too (``*_pending``), and the line's reporting
  for that period (``report_due``, ``reported``, ``on_time`` from ``rules.completeness_of``),
  and the numerator and denominator of the result a ``latest`` actual comes from (what a
  ratio-based percentage roll-up adds up).
- ``region_summary``: ``line_summary`` added up per period, priority, country and standard
  indicator — the grain the dashboard rolls up from when it asks about priorities, pillars,
  subregions and countries only (a few thousand rows per period, whatever the data size).
- ``project_summary``: the same sums per period, project, priority and country — for questions
  that involve a project's tags (donor, marker, SDG, GCM) or a donor's scope, joined at read
  time, so a change of a project's donors needs no refresh.
"""

from __future__ import annotations

from sqlalchemy import Index, PrimaryKeyConstraint
from sqlmodel import Field, SQLModel


class LineSummary(SQLModel, table=True):
    __tablename__ = "line_summary"
    __table_args__ = (
        # As-of slices (indicator lines, by country first: officers and country pages) and
        # cell refreshes.
        Index("ix_line_summary_period", "period_code", "country_iso3", "priority_code"),
        Index("ix_line_summary_cell", "priority_code", "country_iso3", "standard_code"),
        Index("ix_line_summary_project", "project_id", "period_code"),
    )

    indicator_id: int = Field(foreign_key="indicator.id", primary_key=True, ondelete="CASCADE")
    country_iso3: str = Field(primary_key=True, max_length=3)
    period_code: str = Field(primary_key=True, max_length=8)
    project_id: int
    priority_code: str = Field(max_length=8)
    standard_code: str = Field(default="", max_length=16)  # "" when not linked
    baseline: float
    target: float
    expected: float
    actual: float | None = None
    progress: float | None = None
    status: str = Field(max_length=12)
    achieved: bool = False
    numerator: float | None = None
    denominator: float | None = None
    actual_pending: float | None = None
    progress_pending: float | None = None
    status_pending: str = Field(max_length=12)
    achieved_pending: bool = False
    numerator_pending: float | None = None
    denominator_pending: float | None = None
    report_due: bool = False  # the project is active in the period and a result is due in it
    reported: bool = False
    on_time: bool = False


class CellSums(SQLModel):
    """What a cell holds: sums of its ``line_summary`` rows (``snapshots.cell_aggregates``)."""

    lines: int = 0
    due: int = 0  # lines with expected > 0
    target_sum: float = 0
    target_to_date_sum: float = 0  # sum of expected x target
    on_track: int = 0
    at_risk: int = 0
    off_track: int = 0
    no_data: int = 0
    not_started: int = 0
    achieved: int = 0  # the status (a project that ended at or above its target)
    not_achieved: int = 0
    reached: int = 0  # lines whose progress >= 1, whatever their status
    regressing: int = 0  # lines whose progress < 0
    with_data: int = 0
    progress_sum: float = 0  # sum of progress clipped to 0..rules.PROGRESS_CAP, over lines with data
    actual_sum: float = 0
    numerator_sum: float = 0
    denominator_sum: float = 0
    with_ratio: int = 0  # lines with data whose actual carries a numerator and a denominator
    on_track_pending: int = 0
    at_risk_pending: int = 0
    off_track_pending: int = 0
    no_data_pending: int = 0
    not_started_pending: int = 0
    achieved_pending: int = 0
    not_achieved_pending: int = 0
    reached_pending: int = 0
    regressing_pending: int = 0
    with_data_pending: int = 0
    progress_sum_pending: float = 0
    actual_sum_pending: float = 0
    numerator_sum_pending: float = 0
    denominator_sum_pending: float = 0
    with_ratio_pending: int = 0
    report_due: int = 0  # lines for which a result is due in the period (completeness expects them)
    reported: int = 0
    on_time: int = 0


# The primary keys are named in order: on SQLite they are the clustering of these WITHOUT
# ROWID tables, and the inherited sums come first among the columns.

class RegionSummary(CellSums, table=True):
    """Sums of ``line_summary`` per (period, priority, country, standard indicator or "")."""

    __tablename__ = "region_summary"
    __table_args__ = (
        PrimaryKeyConstraint("period_code", "priority_code", "country_iso3", "standard_code"),
        {"sqlite_with_rowid": False},  # clustered by period on SQLite: trends read runs
    )

    period_code: str = Field(primary_key=True, max_length=8)
    priority_code: str = Field(primary_key=True, max_length=8)
    country_iso3: str = Field(primary_key=True, max_length=3)
    standard_code: str = Field(primary_key=True, max_length=16)


class ProjectSummary(CellSums, table=True):
    """Sums of ``line_summary`` per (project, period, priority, country); standard-indicator
    sums are read from ``line_summary`` itself on this path (the column sums are unused)."""

    __tablename__ = "project_summary"
    __table_args__ = (
        PrimaryKeyConstraint("project_id", "period_code", "priority_code", "country_iso3"),
        # A country's or priority's projects, when no project-level filter narrows them first.
        Index("ix_project_summary_period", "period_code", "country_iso3", "priority_code"),
        {"sqlite_with_rowid": False},  # clustered by project on SQLite
    )

    project_id: int = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    period_code: str = Field(primary_key=True, max_length=8)
    priority_code: str = Field(primary_key=True, max_length=8)
    country_iso3: str = Field(primary_key=True, max_length=3)
