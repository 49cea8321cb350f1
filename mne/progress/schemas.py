"""JSON shapes of the progress API (SPEC §6), field for field."""

from __future__ import annotations

from pydantic import BaseModel

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


class StandardSum(BaseModel):
    code: str
    actual: float
    target: float


class RollupGroup(BaseModel):
    key: str | list[str]
    label: str
    lines: int
    status_counts: dict[str, int]
    mean_progress: float | None
    on_track_share: float | None
    standard_indicators: list[StandardSum]

    @classmethod
    def of(cls, group: Group) -> "RollupGroup":
        t = group.tally
        return cls(key=list(group.key) if isinstance(group.key, tuple) else group.key, label=group.label,
                   lines=t.lines, status_counts=dict(t.counts), mean_progress=t.mean_progress,
                   on_track_share=t.on_track_share,
                   standard_indicators=[StandardSum(code=c, actual=a, target=tg) for c, a, tg in t.standard_indicators()])


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
