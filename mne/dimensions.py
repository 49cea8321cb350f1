"""The dimensions lines are filtered and rolled up by: one registry, read by everything else.

A dimension is either at the line level (it follows from an indicator line's own priority or
country: priority, pillar, subregion, country) or at the project level (the project itself,
its lead office, its tags: donor, SDG target, GCM objective, marker). `mne.filters.Filters`
(the query parameters of every list, roll-up and page, with their OpenAPI descriptions), the
progress service (its groupings, joins and labels), the line keys of `progress.snapshots`
and the dashboard's filter form all read `DIMENSIONS`: a new dimension is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from mne.auth.principal import Principal
from mne.base import Role
from mne.errors import Invalid
from mne.projects.models import Project, ProjectCountry, ProjectDonor, ProjectGcm, ProjectMarker
from mne.projects.models import ProjectPriority, ProjectSdg
from mne.reference.models import Country, Donor, GcmObjective, Marker, Office, Priority, SdgTarget, Subregion

LINE = "line"
PROJECT = "project"
# A line's own columns, and the project tag each matches in project lists (a project "is in"
# a country or priority when it is tagged with it, before it has any indicator there).
LINE_COLUMNS = {"priority_code": (ProjectPriority, ProjectPriority.priority_code),
                "country_iso3": (ProjectCountry, ProjectCountry.country_iso3)}


# A project's lead office by name, as the projects API names it: a tag of one.
_LEAD_OFFICE = (select(Project.id.label("project_id"), Office.name.label("office"))
                .join(Office, Office.id == Project.office_id).subquery("lead_office"))


def _name(code: str, name: str) -> str:
    return name


@dataclass(frozen=True)
class Dimension:
    name: str
    label: str  # as a form or a column heading says it
    description: str  # of its query parameter, in the OpenAPI document
    level: str  # LINE or PROJECT
    # LINE: the line's own column it follows, and for one derived from it (pillar from a
    # priority) the reference table's (key, value) columns that map the one to the other.
    line_column: str = ""
    via: tuple[Any, Any] | None = None
    # PROJECT: the table holding the code (project itself, a tag table, or a select of
    # project_id and the code), and its column naming the project (default: project_id).
    table: Any = None
    column: Any = None
    project_column: Any = None
    # Labels: (code, name) columns of the reference table; None when a code is its own label.
    names: tuple[Any, Any] | None = None
    label_of: Callable[[str, str], str] = _name
    order: Any = None  # of the form's choices (default: the code)
    numbers: str = ""  # codes are numbers: what to say when one is not
    upper: bool = False  # codes are upper case (ISO3)
    form: int | None = None  # position in the dashboard's filter form; None: not offered there
    all_label: str = ""  # the form's choice of no filter ("All donors")
    form_shows_code: bool = False  # the form's choices show codes (short ones), not names
    chooses_own: tuple[Role, str] | None = None  # (role, principal attribute): offered only its own

    def parse(self, raw: str | None) -> tuple[str, ...]:
        """A comma-separated list of codes, tidied; 422 naming the parameter when malformed."""
        values = tuple(dict.fromkeys(v.strip() for v in (raw or "").split(",") if v.strip()))
        if self.upper:
            values = tuple(v.upper() for v in values)
        if self.numbers and not all(v.isascii() and v.isdigit() and len(v) < 10 for v in values):
            raise Invalid.field(self.name, self.numbers)
        return values

    def codes(self, values: Iterable[str]) -> list:
        return [int(v) for v in values] if self.numbers else list(values)

    def match(self, column, values: Sequence[str]) -> ColumnElement[bool]:
        """`column` (a line's priority or country) is one of these codes of this dimension."""
        if self.via is None:
            return column.in_(self.codes(values))
        key, value = self.via
        return column.in_(select(key).where(value.in_(self.codes(values))).scalar_subquery())

    @property
    def project_key(self):
        """The column of `table` that names the project."""
        if self.project_column is not None:
            return self.project_column
        return Project.id if self.table is Project else self.table.project_id

    def project_match(self, values: Sequence[str]) -> ColumnElement[bool]:
        """A project (`Project` in the query) carries one of these codes."""
        if self.table is Project:
            return self.column.in_(self.codes(values))
        return exists().where(self.project_key == Project.id, self.column.in_(self.codes(values)))

    def labels(self, session: Session, codes: Iterable[str]) -> dict[str, str]:
        """The label of each code (the code itself when unknown)."""
        codes = sorted(set(codes))
        if self.names is None or not codes:
            return {c: c for c in codes}
        key, name = self.names
        wanted = [c for c in codes if c.isascii() and c.isdigit() and len(c) < 10] if self.numbers else codes
        found = {str(k): self.label_of(str(k), n) for k, n in
                 session.execute(select(key, name).where(key.in_(self.codes(wanted))))} if wanted else {}
        return {c: found.get(c, c) for c in codes}

    def choices(self, session: Session, principal: Principal) -> list[tuple[str, str]]:
        """(code, text) of every value the form offers this caller."""
        key, name = self.names
        rows = [(str(k), n) for k, n in session.execute(select(key, name).order_by(self.order or key))]
        if self.chooses_own and principal.role == self.chooses_own[0]:
            own = getattr(principal, self.chooses_own[1])
            rows = [(k, n) for k, n in rows if k in own]
        return [(k, k if self.form_shows_code else n) for k, n in rows]


DIMENSIONS: dict[str, Dimension] = {d.name: d for d in (
    Dimension("priority", "Strategic priority", "strategic priorities SP1–SP4", LINE, line_column="priority_code",
              names=(Priority.code, Priority.title), label_of=lambda code, title: f"{code} · {title}",
              order=Priority.position, form=4, form_shows_code=True, all_label="All priorities"),
    Dimension("pillar", "Pillar", "pillars: Resilience, Mobility, Governance", LINE, line_column="priority_code",
              via=(Priority.code, Priority.pillar)),
    Dimension("subregion", "Subregion", "subregions: WB, EE, SC, CA, EM", LINE, line_column="country_iso3",
              via=(Country.iso3, Country.subregion_code), names=(Subregion.code, Subregion.name),
              order=Subregion.position, form=2, all_label="All subregions"),
    Dimension("country", "Country or territory", "ISO3 codes of countries and territories", LINE,
              line_column="country_iso3", names=(Country.iso3, Country.name), order=Country.position, upper=True,
              form=3, all_label="All countries", chooses_own=(Role.country_officer, "countries")),
    Dimension("donor", "Donor", "donor codes", PROJECT, table=ProjectDonor, column=ProjectDonor.donor_code,
              names=(Donor.code, Donor.name), form=1, form_shows_code=True, all_label="All donors",
              chooses_own=(Role.donor_viewer, "donors")),
    Dimension("project", "Project", "project codes", PROJECT, table=Project, column=Project.code,
              names=(Project.code, Project.title)),
    Dimension("sdg", "SDG target", "SDG target codes, e.g. 10.7", PROJECT, table=ProjectSdg,
              column=ProjectSdg.sdg_code, names=(SdgTarget.code, SdgTarget.title)),
    Dimension("gcm", "GCM objective", "GCM objective numbers 1–23", PROJECT, table=ProjectGcm,
              column=ProjectGcm.gcm_number, names=(GcmObjective.number, GcmObjective.title),
              numbers="GCM objectives are numbers 1–23"),
    Dimension("marker", "Cross-cutting marker", "marker codes: gender, child_protection, …", PROJECT,
              table=ProjectMarker, column=ProjectMarker.marker_code, names=(Marker.code, Marker.name), form=5,
              all_label="All markers"),
    Dimension("office", "Lead office", "lead offices by name, as a project's `office` (e.g. IOM Bishkek)", PROJECT,
              table=_LEAD_OFFICE, column=_LEAD_OFFICE.c.office, project_column=_LEAD_OFFICE.c.project_id,
              names=(Office.name, Office.name), form=6, all_label="All offices"),
)}

LINE_DIMENSIONS = frozenset(n for n, d in DIMENSIONS.items() if d.level == LINE)
FORM_DIMENSIONS = tuple(sorted((d for d in DIMENSIONS.values() if d.form is not None), key=lambda d: d.form))
