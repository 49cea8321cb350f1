"""JSON shapes of the progress API (SPEC §6), field for field."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from mne.progress.rules import StandardFigure
from mne.progress.service import Group, LineRow


class IndicatorLineRead(BaseModel):
    indicator_id: int
    indicator_code: str
    project_code: str
    country: str
    baseline: float
    target: float
    actual: float | None
    progress: float | None
    expected: float
    status: str
    achieved: bool

    @classmethod
    def of(cls, row: LineRow) -> "IndicatorLineRead":
        return cls(indicator_id=row.indicator_id, indicator_code=row.indicator_code, project_code=row.project_code,
                   country=row.country, baseline=row.baseline, target=row.target, actual=row.actual,
                   progress=row.progress, expected=row.expected, status=row.status, achieved=row.achieved)


class StandardIndicatorRollup(BaseModel):
    """A standard indicator over a group's lines: numbers summed (``method: sum``), percentages
    never (``ratio`` of summed numerators and denominators, else ``mean`` of the lines')."""
    code: str
    measure: Literal["number", "percentage"]
    method: Literal["sum", "ratio", "mean"]
    actual: float | None
    target: float | None
    target_to_date: float | None = Field(description="Σ expected × target; number measures only")
    lines_with_data: int

    @classmethod
    def of(cls, figure: StandardFigure) -> "StandardIndicatorRollup":
        return cls(code=figure.code, measure=figure.measure, method=figure.method, actual=figure.actual,
                   target=figure.target, target_to_date=figure.target_to_date,
                   lines_with_data=figure.lines_with_data)


class RollupGroup(BaseModel):
    key: str | list[str]
    label: str
    lines: int
    status_counts: dict[str, int]
    mean_progress: float | None
    regressing: int
    on_track_share: float | None
    standard_indicators: list[StandardIndicatorRollup]

    @classmethod
    def of(cls, group: Group, measures: dict[str, str]) -> "RollupGroup":
        t = group.tally
        return cls(key=list(group.key) if isinstance(group.key, tuple) else group.key, label=group.label,
                   lines=t.lines, status_counts=dict(t.counts), mean_progress=t.mean_progress,
                   regressing=t.regressing, on_track_share=t.on_track_share,
                   standard_indicators=[StandardIndicatorRollup.of(f) for f in t.standard_indicators(measures)])


class RollupRead(BaseModel):
    as_of: str
    by: str
    groups: list[RollupGroup]


class CompletenessGroupRead(BaseModel):
    key: str | list[str]
    label: str
    expected: int
    reported: int
    on_time: int
    rate: float | None
    on_time_rate: float | None

    @classmethod
    def of(cls, group: Group) -> "CompletenessGroupRead":
        t = group.tally
        return cls(key=list(group.key) if isinstance(group.key, tuple) else group.key, label=group.label,
                   expected=t.expected_lines, reported=t.reported, on_time=t.on_time, rate=t.rate,
                   on_time_rate=t.on_time_rate)


class CompletenessRead(BaseModel):
    period: str
    by: str
    groups: list[CompletenessGroupRead]
