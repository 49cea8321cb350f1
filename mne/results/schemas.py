"""Result schemas: the body of PUT /api/v1/results (also each imported CSV row) and the read shape."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from mne.base import Amount, Count, Id, ResultStatus
from mne.text import InputModel, line, text

Country = line(3, min_length=3)
PeriodCode = line(8, min_length=1)


class Disaggregation(InputModel):
    """Values by sex and, for `sex_age` indicators, by age group. For a `number` indicator each group
    adds up to the value; for a `percentage` indicator each is the percentage within that group
    (0–100) and they need not add up."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    female: Amount | None = None
    male: Amount | None = None
    other: Amount | None = None
    age_0_17: Amount | None = Field(default=None, alias="0-17")
    age_18_59: Amount | None = Field(default=None, alias="18-59")
    age_60_plus: Amount | None = Field(default=None, alias="60+")


class ResultWrite(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    indicator_id: Id
    country: Country
    period: PeriodCode
    value: Amount | None = Field(default=None, description="may be left out when numerator and denominator are given")
    disaggregation: Disaggregation | None = None
    numerator: Count | None = Field(default=None, description="a percentage's count: 0 ≤ numerator ≤ denominator")
    denominator: Count | None = Field(default=None, gt=0,
                                      description="a percentage's base: value = 100 × numerator / denominator")
    narrative: text(10_000) = ""
    means_of_verification: text(2_000) = ""
    version: Count | None = Field(default=None, ge=1, description="required to update an existing result")


class NoteBody(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: text(5_000, min_length=1)


class ReasonBody(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: text(5_000, min_length=1)


class PeriodSubmit(InputModel):
    model_config = ConfigDict(extra="forbid")
    period: PeriodCode
    country: Country | None = None


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


# A bulk approval is one transaction: a cap keeps it (and its lock on the periods) short.
MAX_BULK_IDS = 1000


class BulkApprove(InputModel):
    ids: list[Id] = Field(min_length=1, max_length=MAX_BULK_IDS,
                          description=f"the results to approve, 1 to {MAX_BULK_IDS} ids")


class Refusal(BaseModel):
    id: int
    code: str = Field(description="not_found, forbidden, conflict (not submitted, or changed meanwhile), "
                                  "locked (approved, or its period closed), duplicate")
    message: str


class BulkApproval(BaseModel):
    """What a bulk approval did: each id is either approved or refused with why."""

    approved: list[int]
    refused: list[Refusal]
