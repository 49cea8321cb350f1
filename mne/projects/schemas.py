"""Project schemas: one family for the API body, the HTML form and the read shape."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from mne.base import Amount, Day, ProjectStatus
from mne.projects.models import PROJECT_CODE_PATTERN
from mne.text import InputModel, clip, line, text

# The most of each list a project can hold: the size of its reference list (seed/), so a body of
# 20,000 codes is refused by its length before anything looks at the codes. Donors are added by
# admins; no project has more than a handful. Tests compare these with the reference tables.
MAX_COUNTRIES = 20
MAX_PRIORITIES = 4
MAX_SDG_TARGETS = 17
MAX_GCM_OBJECTIVES = 23
MAX_MARKERS = 4
MAX_DONORS = 50


def _unique_list(values: list) -> list:
    """`values` unchanged, or the first value listed twice as an error (one pass: a set, not a list)."""
    seen: set[Hashable] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{clip(v, 40)} is listed twice")
        seen.add(v)
    return values


def _gcm_in_range(values: list[int]) -> list[int]:
    for n in values:
        if not 1 <= n <= 23:
            raise ValueError(f"{clip(n, 40)} is not a GCM objective (1–23)")
    return _unique_list(values)


def _donor_codes_unique(values: list[DonorShare]) -> list[DonorShare]:
    _unique_list([d.code for d in values])
    return values


# The lists, each with its length cap and its check, shared by POST (create) and PATCH (update).
Countries = Annotated[list[line(3, min_length=3)], Field(min_length=1, max_length=MAX_COUNTRIES,
                                                         description="ISO3 codes"),
                      AfterValidator(lambda v: _unique_list([c.upper() for c in v]))]
Priorities = Annotated[list[line(8, min_length=1)], Field(min_length=1, max_length=MAX_PRIORITIES,
                                                          description="SP1..SP4; the first is the primary one"),
                       AfterValidator(_unique_list)]
SdgTargets = Annotated[list[line(10, min_length=1)], Field(max_length=MAX_SDG_TARGETS), AfterValidator(_unique_list)]
Markers = Annotated[list[line(32, min_length=1)], Field(max_length=MAX_MARKERS), AfterValidator(_unique_list)]
GcmObjectives = Annotated[list[int], Field(max_length=MAX_GCM_OBJECTIVES), AfterValidator(_gcm_in_range)]
Title = line(300, min_length=1)
Summary = text(20_000)
Office = Annotated[line(120), Field(description="lead office, by name (e.g. 'IOM Bishkek')")]


class DonorShare(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: line(32, min_length=1)
    amount_usd: Amount | None = None


Donors = Annotated[list[DonorShare], Field(max_length=MAX_DONORS), AfterValidator(_donor_codes_unique)]


class ProjectBase(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title
    summary: Summary = ""
    start_date: Day
    end_date: Day
    status: ProjectStatus = ProjectStatus.active
    office: Office | None = None
    countries: Countries
    priorities: Priorities
    donors: Donors = Field(default_factory=list)
    budget_usd: Amount | None = None
    sdg_targets: SdgTargets = Field(default_factory=list)
    gcm_objectives: GcmObjectives = Field(default_factory=list)
    markers: Markers = Field(default_factory=list)


class ProjectCreate(ProjectBase):
    code: line(32, pattern=PROJECT_CODE_PATTERN) = Field(description="3–32 letters, digits, '.', '-', '_'")


class ProjectUpdate(InputModel):
    """PATCH: only the fields given change; lists given replace the whole list. Each field has the
    type, caps and checks of `ProjectCreate` (one rule for both)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title | None = None
    summary: Summary | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    status: ProjectStatus | None = None
    office: Office | None = None
    countries: Countries | None = None
    priorities: Priorities | None = None
    donors: Donors | None = None
    budget_usd: Amount | None = None
    sdg_targets: SdgTargets | None = None
    gcm_objectives: GcmObjectives | None = None
    markers: Markers | None = None


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
