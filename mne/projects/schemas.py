"""Project schemas: one family for the API body, the HTML form and the read shape."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mne.base import ProjectStatus
from mne.projects.models import PROJECT_CODE_PATTERN


class DonorShare(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=32)
    amount_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)


def _unique_list(values: list) -> list:
    seen = []
    for v in values:
        if v in seen:
            raise ValueError(f"{v} is listed twice")
        seen.append(v)
    return values


class ProjectBase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=300)
    summary: str = Field(default="", max_length=20_000)
    start_date: date
    end_date: date
    status: ProjectStatus = ProjectStatus.active
    office: str | None = Field(default=None, description="lead office, by name (e.g. 'IOM Bishkek')")
    countries: list[str] = Field(min_length=1, description="ISO3 codes")
    priorities: list[str] = Field(min_length=1, description="SP1..SP4; the first is the primary one")
    donors: list[DonorShare] = Field(default_factory=list)
    budget_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    sdg_targets: list[str] = Field(default_factory=list)
    gcm_objectives: list[int] = Field(default_factory=list)
    markers: list[str] = Field(default_factory=list)

    @field_validator("countries")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        return _unique_list([c.strip().upper() for c in v])

    @field_validator("priorities", "sdg_targets", "markers")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return _unique_list([x.strip() for x in v])

    @field_validator("gcm_objectives")
    @classmethod
    def _gcm(cls, v: list[int]) -> list[int]:
        for n in v:
            if not 1 <= n <= 23:
                raise ValueError(f"{n} is not a GCM objective (1–23)")
        return _unique_list(v)

    @field_validator("donors")
    @classmethod
    def _donors(cls, v: list[DonorShare]) -> list[DonorShare]:
        _unique_list([d.code for d in v])
        return v


class ProjectCreate(ProjectBase):
    code: str = Field(pattern=PROJECT_CODE_PATTERN, description="3–32 letters, digits, '.', '-', '_'")


class ProjectUpdate(BaseModel):
    """PATCH: only the fields given change; lists given replace the whole list."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=300)
    summary: str | None = Field(default=None, max_length=20_000)
    start_date: date | None = None
    end_date: date | None = None
    status: ProjectStatus | None = None
    office: str | None = None
    countries: list[str] | None = Field(default=None, min_length=1)
    priorities: list[str] | None = Field(default=None, min_length=1)
    donors: list[DonorShare] | None = None
    budget_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    sdg_targets: list[str] | None = None
    gcm_objectives: list[int] | None = None
    markers: list[str] | None = None


class ProjectRead(BaseModel):
    code: str
    title: str
    summary: str
    start_date: date
    end_date: date
    status: ProjectStatus
    office: str | None
    countries: list[str]
    priorities: list[str]
    donors: list[DonorShare]
    budget_usd: float | None
    sdg_targets: list[str]
    gcm_objectives: list[int]
    markers: list[str]
    created_at: datetime
    updated_at: datetime
