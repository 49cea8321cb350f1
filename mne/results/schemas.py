"""Result schemas: the body of PUT /api/v1/results (also each imported CSV row) and the read shape."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from mne.base import ResultStatus


class Disaggregation(BaseModel):
    """Values by sex and, for `sex_age` indicators, by age group. For a `number` indicator each group
    adds up to the value; for a `percentage` indicator each is the percentage within that group
    (0–100) and they need not add up."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    female: float | None = Field(default=None, ge=0)
    male: float | None = Field(default=None, ge=0)
    other: float | None = Field(default=None, ge=0)
    age_0_17: float | None = Field(default=None, ge=0, alias="0-17")
    age_18_59: float | None = Field(default=None, ge=0, alias="18-59")
    age_60_plus: float | None = Field(default=None, ge=0, alias="60+")


class ResultWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    indicator_id: int
    country: str = Field(min_length=3, max_length=3)
    period: str = Field(min_length=1, max_length=8)
    value: float | None = Field(default=None, ge=0, allow_inf_nan=False,
                                description="may be left out when numerator and denominator are given")
    disaggregation: Disaggregation | None = None
    numerator: int | None = Field(default=None, ge=0, description="a percentage's count: 0 ≤ numerator ≤ denominator")
    denominator: int | None = Field(default=None, gt=0,
                                    description="a percentage's base: value = 100 × numerator / denominator")
    narrative: str = Field(default="", max_length=10_000)
    means_of_verification: str = Field(default="", max_length=2_000)
    version: int | None = Field(default=None, ge=1, description="required to update an existing result")


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: str = Field(min_length=1, max_length=5_000)


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=1, max_length=5_000)


class PeriodSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str
    country: str | None = None


class Flag(BaseModel):
    code: str
    message: str


class ResultRead(BaseModel):
    id: int
    indicator_id: int
    indicator_code: str
    project_code: str
    country: str
    period: str
    value: float
    disaggregation: Disaggregation | None
    numerator: int | None = None
    denominator: int | None = None
    narrative: str
    means_of_verification: str
    status: ResultStatus
    review_note: str
    version: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    first_submitted_at: datetime | None = Field(default=None, description="the first submission ever, kept through "
                                                                          "returns; on-time reporting is judged by it")
    approved_at: datetime | None
    flags: list[Flag] = []

    model_config = ConfigDict(populate_by_name=True)


class SubmitSummary(BaseModel):
    submitted: list[int]
    skipped: int
