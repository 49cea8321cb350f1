"""Indicator tables. The unit of tracking is the indicator line: indicator x country."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from mne.base import (
    Aggregation, Direction, Disaggregation, Level, Measure, ReportingFrequency, UTCDateTime, one_of, utcnow,
)


class Indicator(SQLModel, table=True):
    __tablename__ = "indicator"
    __table_args__ = (
        UniqueConstraint("project_id", "code"),
        one_of("level", Level),
        one_of("measure", Measure),
        one_of("aggregation", Aggregation),
        one_of("direction", Direction),
        one_of("disaggregation", Disaggregation),
        one_of("reporting_frequency", ReportingFrequency),
        # A flow (sum) can only grow; a percentage is a level, never summed.
        CheckConstraint("aggregation <> 'sum' OR direction = 'increase'", name="sum_increases"),
        CheckConstraint("measure <> 'percentage' OR aggregation = 'latest'", name="percentage_latest"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    code: str = Field(max_length=32)
    statement: str = Field(sa_column=Column(Text, nullable=False))
    level: str = Field(max_length=8, default=Level.outcome)
    priority_code: str = Field(foreign_key="priority.code", max_length=8, index=True)
    measure: str = Field(max_length=16, default=Measure.number)
    aggregation: str = Field(max_length=8, default=Aggregation.sum)
    direction: str = Field(max_length=8, default=Direction.increase)
    disaggregation: str = Field(max_length=8, default=Disaggregation.none)
    # The server default gives rows written before the column existed (and raw inserts) theirs.
    reporting_frequency: str = Field(max_length=12, default=ReportingFrequency.quarterly,
                                     sa_column_kwargs={"server_default": ReportingFrequency.quarterly.value})
    standard_indicator_code: str | None = Field(
        default=None, foreign_key="standard_indicator.code", max_length=16, index=True
    )
    position: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class IndicatorTarget(SQLModel, table=True):
    """Baseline and life-of-project target of one indicator line."""

    __tablename__ = "indicator_target"
    __table_args__ = (
        CheckConstraint("baseline >= 0", name="baseline_non_negative"),
        CheckConstraint("target >= 0", name="target_non_negative"),
        CheckConstraint("opening_actual >= 0", name="opening_actual_non_negative"),
    )

    indicator_id: int = Field(foreign_key="indicator.id", primary_key=True, ondelete="CASCADE")
    country_iso3: str = Field(foreign_key="country.iso3", primary_key=True, max_length=3, index=True)
    baseline: float = 0
    target: float
    # What a ``sum`` line achieved before tracking began; counts like an approved result.
    opening_actual: float = Field(default=0, sa_column_kwargs={"server_default": "0"})


class PeriodTarget(SQLModel, table=True):
    """An optional milestone: the target due by the end of a period."""

    __tablename__ = "period_target"
    __table_args__ = (CheckConstraint("target >= 0", name="target_non_negative"),)

    indicator_id: int = Field(foreign_key="indicator.id", primary_key=True, ondelete="CASCADE")
    country_iso3: str = Field(foreign_key="country.iso3", primary_key=True, max_length=3)
    period_code: str = Field(foreign_key="period.code", primary_key=True, max_length=8)
    target: float
