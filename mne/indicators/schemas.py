"""Indicator schemas: the API body, the form and the read shape share them."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from mne.base import Aggregation, Amount, Direction, Disaggregation, Level, Measure, ReportingFrequency
from mne.projects.schemas import MAX_COUNTRIES
from mne.text import InputModel, line, text

INDICATOR_CODE_PATTERN = r"^[A-Za-z0-9._-]{1,32}$"
# A line per country of the project; period targets for each line over up to 20 years of quarters.
MAX_TARGETS = MAX_COUNTRIES
MAX_PERIOD_TARGETS = MAX_COUNTRIES * 80
Country = line(3, min_length=3)
PeriodCode = line(8, min_length=1)
Statement = text(2000, min_length=1)
# A standard indicator, by code; "" or null: none ("" was once stored as a code, which is no row).
StandardCode = Annotated[line(16), AfterValidator(lambda v: v or None)]


class LineTarget(InputModel):
    model_config = ConfigDict(extra="forbid")
    country: Country
    baseline: Amount = 0
    target: Amount
    opening_actual: Amount = Field(default=0, description="a sum line's achievement before the first reporting period")


class PeriodTargetIn(InputModel):
    model_config = ConfigDict(extra="forbid")
    country: Country
    period: PeriodCode
    target: Amount


class IndicatorBase(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    statement: Statement
    level: Level = Level.outcome
    priority: line(8, min_length=1)
    measure: Measure = Measure.number
    aggregation: Aggregation | None = Field(default=None, description="default: sum for numbers, latest for percentages")
    direction: Direction = Direction.increase
    disaggregation: Disaggregation = Disaggregation.none
    reporting_frequency: ReportingFrequency = Field(
        default=ReportingFrequency.quarterly,
        description="when a result is due: every quarter; semiannual in Q2 and Q4; annual in Q4; "
                    "endline in the period in which the project ends")
    standard_indicator: StandardCode | None = None
    targets: list[LineTarget] = Field(min_length=1, max_length=MAX_TARGETS)
    period_targets: list[PeriodTargetIn] = Field(default_factory=list, max_length=MAX_PERIOD_TARGETS)

    @model_validator(mode="after")
    def _default_aggregation(self):
        if self.aggregation is None:
            self.aggregation = Aggregation.latest if self.measure == Measure.percentage else Aggregation.sum
        return self


class IndicatorCreate(IndicatorBase):
    code: line(32, pattern=INDICATOR_CODE_PATTERN) = Field(description="1–32 letters, digits, '.', '-', '_'")


class IndicatorUpdate(InputModel):
    """PATCH: given fields change; `targets` and `period_targets`, when given, replace the lists."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: line(32, pattern=INDICATOR_CODE_PATTERN) | None = None
    statement: Statement | None = None
    level: Level | None = None
    priority: line(8, min_length=1) | None = None
    measure: Measure | None = None
    aggregation: Aggregation | None = None
    direction: Direction | None = None
    disaggregation: Disaggregation | None = None
    reporting_frequency: ReportingFrequency | None = None
    standard_indicator: StandardCode | None = None
    targets: list[LineTarget] | None = Field(default=None, min_length=1, max_length=MAX_TARGETS)
    period_targets: list[PeriodTargetIn] | None = Field(default=None, max_length=MAX_PERIOD_TARGETS)
    reason: text(5_000) | None = Field(default=None,
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
