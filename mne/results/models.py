"""The result table: value, disaggregation, workflow fields and an optimistic-lock version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from mne.base import ResultStatus, UTCDateTime, one_of, utcnow

SEX_FIELDS = ("female", "male", "other")
AGE_FIELDS = ("age_0_17", "age_18_59", "age_60_plus")
AGE_LABELS = {"age_0_17": "0-17", "age_18_59": "18-59", "age_60_plus": "60+"}


def _non_negative(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IS NULL OR {column} >= 0", name=f"{column}_non_negative")


class Result(SQLModel, table=True):
    __tablename__ = "result"
    __table_args__ = (
        UniqueConstraint("indicator_id", "country_iso3", "period_code"),
        one_of("status", ResultStatus),
        CheckConstraint("value >= 0", name="value_non_negative"),
        CheckConstraint("version >= 1", name="version_positive"),
        *(_non_negative(c) for c in SEX_FIELDS + AGE_FIELDS),
        # A percentage as a count of a count (SPEC §3 rev. 2): 0 <= numerator <= denominator.
        CheckConstraint("numerator IS NULL OR numerator >= 0", name="numerator_non_negative"),
        CheckConstraint("denominator IS NULL OR denominator > 0", name="denominator_positive"),
        CheckConstraint("numerator IS NULL OR denominator IS NULL OR numerator <= denominator",
                        name="numerator_within_denominator"),
        # Roll-ups read results by period and by line; completeness by period and country.
        Index("ix_result_period_country", "period_code", "country_iso3"),
        Index("ix_result_status_period", "status", "period_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", ondelete="CASCADE")
    country_iso3: str = Field(foreign_key="country.iso3", max_length=3, index=True)
    period_code: str = Field(foreign_key="period.code", max_length=8)
    value: float
    female: float | None = None
    male: float | None = None
    other: float | None = None
    age_0_17: float | None = None
    age_18_59: float | None = None
    age_60_plus: float | None = None
    numerator: int | None = None
    denominator: int | None = None
    narrative: str = Field(default="", sa_column=Column(Text, nullable=False))
    means_of_verification: str = Field(
        default="", sa_column=Column(Text, nullable=False)
    )
    status: str = Field(max_length=10, default=ResultStatus.draft)
    review_note: str = Field(default="", sa_column=Column(Text, nullable=False))
    version: int = 1
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_by_id: int | None = Field(default=None, foreign_key="user.id")
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The first submission ever, kept through returns: on-time reporting is judged by it.
    first_submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_by_id: int | None = Field(default=None, foreign_key="user.id")
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by_id: int | None = Field(default=None, foreign_key="user.id")
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
