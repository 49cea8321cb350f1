"""The filters every list, roll-up and export takes (SPEC §6), parsed once and applied once.

`priority, pillar, subregion, country, donor, project, marker, sdg, gcm` — each may hold a
comma-separated list. Priority and pillar select by the indicator's priority; country and
subregion by the indicator line's country; the others by the project's tags.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy import ColumnElement, and_, exists, select, true

from mne.errors import Invalid
from mne.indicators.models import Indicator
from mne.projects.models import Project, ProjectDonor, ProjectGcm, ProjectMarker, ProjectSdg
from mne.reference.models import Country, Priority


def _split(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))


@dataclass(frozen=True)
class Filters:
    priority: tuple[str, ...] = ()
    pillar: tuple[str, ...] = ()
    subregion: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    donor: tuple[str, ...] = ()
    project: tuple[str, ...] = ()
    marker: tuple[str, ...] = ()
    sdg: tuple[str, ...] = ()
    gcm: tuple[str, ...] = ()

    @property
    def active(self) -> dict[str, tuple[str, ...]]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def query_string(self) -> str:
        from urllib.parse import urlencode

        return urlencode({k: ",".join(v) for k, v in self.active.items()})

    def line_clause(self, country_column, priority_column=None) -> ColumnElement[bool]:
        """A WHERE clause over `Indicator` + `Project` and a line's country column (and, when
        given, a column holding the line's priority in place of `Indicator.priority_code`)."""
        priority_column = Indicator.priority_code if priority_column is None else priority_column
        clauses: list[ColumnElement[bool]] = []
        if self.priority:
            clauses.append(priority_column.in_(self.priority))
        if self.pillar:
            clauses.append(priority_column.in_(
                select(Priority.code).where(Priority.pillar.in_(self.pillar)).scalar_subquery()))
        if self.country:
            clauses.append(country_column.in_(self.country))
        if self.subregion:
            clauses.append(country_column.in_(
                select(Country.iso3).where(Country.subregion_code.in_(self.subregion)).scalar_subquery()))
        if self.project:
            clauses.append(Project.code.in_(self.project))
        for values, table, column in (
            (self.donor, ProjectDonor, ProjectDonor.donor_code),
            (self.marker, ProjectMarker, ProjectMarker.marker_code),
            (self.sdg, ProjectSdg, ProjectSdg.sdg_code),
        ):
            if values:
                clauses.append(exists().where(table.project_id == Project.id, column.in_(values)))
        if self.gcm:
            clauses.append(exists().where(ProjectGcm.project_id == Project.id,
                                          ProjectGcm.gcm_number.in_(self._gcm_numbers())))
        return and_(*clauses) if clauses else true()

    def _gcm_numbers(self) -> list[int]:
        try:
            return [int(v) for v in self.gcm]
        except ValueError as exc:
            raise Invalid.field("gcm", "GCM objectives are numbers 1–23") from exc


def filters_dependency(
    priority: Annotated[str | None, Query(description="SP1..SP4, comma-separated")] = None,
    pillar: Annotated[str | None, Query(description="Resilience, Mobility, Governance")] = None,
    subregion: Annotated[str | None, Query(description="WB, EE, SC, CA, EM")] = None,
    country: Annotated[str | None, Query(description="ISO3 codes")] = None,
    donor: Annotated[str | None, Query(description="donor codes")] = None,
    project: Annotated[str | None, Query(description="project codes")] = None,
    marker: Annotated[str | None, Query(description="gender, child_protection, …")] = None,
    sdg: Annotated[str | None, Query(description="SDG target codes, e.g. 10.7")] = None,
    gcm: Annotated[str | None, Query(description="GCM objective numbers 1–23")] = None,
) -> Filters:
    parsed = Filters(
        priority=_split(priority), pillar=_split(pillar), subregion=_split(subregion),
        country=tuple(c.upper() for c in _split(country)), donor=_split(donor), project=_split(project),
        marker=_split(marker), sdg=_split(sdg), gcm=_split(gcm),
    )
    parsed._gcm_numbers()  # reject non-numbers early, naming the field
    return parsed


FiltersDep = Annotated[Filters, Depends(filters_dependency)]
