"""API schemas of the reference data."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from mne.base import Aggregation, Day, Disaggregation, Measure, PeriodStatus
from mne.text import InputModel, line, text

# A reporting period's code: a quarter of a year within the dates people may enter (mne.base.Day).
PERIOD_CODE_PATTERN = r"^(19|20|21)\d{2}Q[1-4]$"

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


class PeriodUpdate(InputModel):
    model_config = ConfigDict(extra="forbid")
    status: PeriodStatus


class DonorRead(ReadModel):
    code: str
    name: str


class DonorCreate(InputModel):
    model_config = ConfigDict(extra="forbid")
    code: line(32, pattern=r"^[A-Za-z0-9._-]{2,32}$") = Field(description="2–32 letters, digits, '.', '-', '_'")
    name: line(200, min_length=1)


class StandardIndicatorRead(ReadModel):
    code: str
    priority_code: str
    statement: str
    measure: str
    aggregation: str
    disaggregation: str


class PeriodCreate(InputModel):
    """A new reporting period. Blank dates default to the calendar quarter of `code` and a due
    date 30 days after the end."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: line(16, pattern=PERIOD_CODE_PATTERN) = Field(description="a quarter written YYYYQn, e.g. 2025Q1, "
                                                                    "of a year from 1900 to 2199")
    start_date: Day | None = None
    end_date: Day | None = None
    due_date: Day | None = None
    status: PeriodStatus = PeriodStatus.open


class StandardIndicatorUpdate(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    statement: text(400, min_length=1)
    measure: Measure
    aggregation: Aggregation
    disaggregation: Disaggregation = Disaggregation.none


class StandardIndicatorCreate(StandardIndicatorUpdate):
    code: line(16, pattern=r"^[A-Za-z0-9._-]{2,16}$") = Field(description="2–16 letters, digits, '.', '-', '_'")
    priority_code: line(8, min_length=1)
