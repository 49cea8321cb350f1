"""API schemas of the reference data."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from mne.base import Aggregation, Disaggregation, Measure, PeriodStatus

KOSOVO = "XKX"
KOSOVO_FOOTNOTE = (
    "References to Kosovo shall be understood to be in the context of United Nations "
    "Security Council resolution 1244 (1999)."
)


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PriorityRead(ReadModel):
    code: str
    pillar: str
    title: str
    text: str
    position: int


class SubregionRead(ReadModel):
    code: str
    name: str
    countries: list[str]


class CountryRead(ReadModel):
    iso3: str
    name: str
    subregion_code: str
    footnote: str | None = None


class PeriodRead(ReadModel):
    code: str
    start_date: date
    end_date: date
    due_date: date
    status: PeriodStatus


class PeriodUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: PeriodStatus


class DonorRead(ReadModel):
    code: str
    name: str


class DonorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^[A-Za-z0-9._-]{2,32}$", description="2–32 letters, digits, '.', '-', '_'")
    name: str = Field(min_length=1, max_length=200)


class StandardIndicatorRead(ReadModel):
    code: str
    priority_code: str
    statement: str
    measure: str
    aggregation: str
    disaggregation: str


class PeriodCreate(BaseModel):
    """A new reporting period. Blank dates default to the calendar quarter of `code` and a due
    date 30 days after the end."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(pattern=r"^\d{4}Q[1-4]$", description="a quarter written YYYYQn, e.g. 2025Q1")
    start_date: date | None = None
    end_date: date | None = None
    due_date: date | None = None
    status: PeriodStatus = PeriodStatus.open


class StandardIndicatorUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    statement: str = Field(min_length=1, max_length=400)
    measure: Measure
    aggregation: Aggregation
    disaggregation: Disaggregation = Disaggregation.none


class StandardIndicatorCreate(StandardIndicatorUpdate):
    code: str = Field(pattern=r"^[A-Za-z0-9._-]{2,16}$", description="2–16 letters, digits, '.', '-', '_'")
    priority_code: str = Field(min_length=1, max_length=8)
