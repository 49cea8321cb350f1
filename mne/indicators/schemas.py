"""Indicator schemas: the API body, the form and the read shape share them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mne.base import Aggregation, Direction, Disaggregation, Level, Measure, ReportingFrequency

INDICATOR_CODE_PATTERN = r"^[A-Za-z0-9._-]{1,32}$"


class LineTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: str = Field(min_length=3, max_length=3)
    baseline: float = Field(default=0, ge=0, allow_inf_nan=False)
    target: float = Field(ge=0, allow_inf_nan=False)
    opening_actual: float = Field(default=0, ge=0, allow_inf_nan=False,
                                  description="a sum line's achievement before the first reporting period")


class PeriodTargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: str = Field(min_length=3, max_length=3)
    period: str = Field(min_length=1, max_length=8)
    target: float = Field(ge=0, allow_inf_nan=False)


class IndicatorBase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    statement: str = Field(min_length=1, max_length=2000)
    level: Level = Level.outcome
    priority: str = Field(min_length=1, max_length=8)
    measure: Measure = Measure.number
    aggregation: Aggregation | None = Field(default=None, description="default: sum for numbers, latest for percentages")
    direction: Direction = Direction.increase
    disaggregation: Disaggregation = Disaggregation.none
    reporting_frequency: ReportingFrequency = Field(
        default=ReportingFrequency.quarterly,
        description="when a result is due: every quarter; semiannual in Q2 and Q4; annual in Q4; "
                    "endline in the period in which the project ends")
    standard_indicator: str | None = None
    targets: list[LineTarget] = Field(min_length=1)
    period_targets: list[PeriodTargetIn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _default_aggregation(self):
        if self.aggregation is None:
            self.aggregation = Aggregation.latest if self.measure == Measure.percentage else Aggregation.sum
        return self


class IndicatorCreate(IndicatorBase):
    code: str = Field(pattern=INDICATOR_CODE_PATTERN, description="1–32 letters, digits, '.', '-', '_'")


class IndicatorUpdate(BaseModel):
    """PATCH: given fields change; `targets` and `period_targets`, when given, replace the lists."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str | None = Field(default=None, pattern=INDICATOR_CODE_PATTERN)
    statement: str | None = Field(default=None, min_length=1, max_length=2000)
    level: Level | None = None
    priority: str | None = None
    measure: Measure | None = None
    aggregation: Aggregation | None = None
    direction: Direction | None = None
    disaggregation: Disaggregation | None = None
    reporting_frequency: ReportingFrequency | None = None
    standard_indicator: str | None = None
    targets: list[LineTarget] | None = Field(default=None, min_length=1)
    period_targets: list[PeriodTargetIn] | None = None
    reason: str | None = Field(default=None, max_length=5_000,
                               description="why baselines or targets change: required once a result is approved")


class IndicatorRead(BaseModel):
    id: int
    project_code: str
    code: str
    statement: str
    level: Level
    priority: str
    measure: Measure
    aggregation: Aggregation
    direction: Direction
    disaggregation: Disaggregation
    reporting_frequency: ReportingFrequency
    standard_indicator: str | None
    targets: list[LineTarget]
    period_targets: list[PeriodTargetIn]
