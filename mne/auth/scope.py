"""What a caller may see and change, as SQL filters (for lists) and checks (for one object).

One place for the scope rules of SPEC §1:
- reviewers and admins: everything;
- a country officer: projects with at least one of its countries; in them it reads and logs
  results only on its countries' lines (`line_countries`), and edits projects led by its
  countries (the lead office's country, or, with no lead office, any of the project's countries);
- a donor viewer: projects funded by at least one of its donors, read-only.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, true
from sqlmodel import Session, select

from mne.auth.principal import Principal
from mne.base import Role
from mne.errors import Forbidden, NotFound
from mne.projects.models import Project, ProjectCountry, ProjectDonor
from mne.reference.models import Office


def visible_projects(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause on `Project` keeping the projects the caller may read."""
    if principal.region_wide:
        return true()
    if principal.role == Role.country_officer:
        return exists().where(
            ProjectCountry.project_id == Project.id,
            ProjectCountry.country_iso3.in_(sorted(principal.countries)),
        )
    if principal.role == Role.donor_viewer:
        return exists().where(
            ProjectDonor.project_id == Project.id,
            ProjectDonor.donor_code.in_(sorted(principal.donors)),
        )
    return false()


def can_read_project(session: Session, principal: Principal, project_id: int) -> bool:
    statement = select(Project.id).where(Project.id == project_id, visible_projects(principal))
    return session.exec(statement).first() is not None


def can_edit_project(session: Session, principal: Principal, project: Project) -> bool:
    if principal.role != Role.country_officer:
        return False
    if project.office_id is not None:
        office = session.get(Office, project.office_id)
        if office is not None and office.country_iso3:
            return office.country_iso3 in principal.countries
    countries = session.exec(
        select(ProjectCountry.country_iso3).where(ProjectCountry.project_id == project.id)
    ).all()
    return any(c in principal.countries for c in countries)


def ensure_can_read_project(session: Session, principal: Principal, project_id: int) -> None:
    if not can_read_project(session, principal, project_id):
        raise Forbidden("this project is outside your countries or donors")


def get_project_by_code(session: Session, principal: Principal, code: str) -> Project:
    """The project, or 404 when it does not exist, or 403 when it is outside the caller's scope."""
    project = session.exec(select(Project).where(Project.code == code)).first()
    if project is None:
        raise NotFound(f"no project with code {code!r}")
    ensure_can_read_project(session, principal, project.id)
    return project


# --- indicator lines (a project's rows, one per country) and their results -------------------

def line_countries(principal: Principal, *, write: bool = False) -> frozenset[str] | None:
    """The countries whose lines the caller may read (with `write`: log results for) in a project
    it may read: an officer, its own; anyone else reads every line (None: no limit) and logs none.

    The one statement of this rule: the checks and SQL clauses below, and the pages, derive from it.
    """
    if principal.role == Role.country_officer:
        return principal.countries
    return frozenset() if write else None


def can_read_line(principal: Principal, country: str) -> bool:
    countries = line_countries(principal)
    return countries is None or country in countries


def can_write_line(principal: Principal, country: str) -> bool:
    return country in line_countries(principal, write=True)


def line_clause(principal: Principal, column: ColumnElement[str]) -> list[ColumnElement[bool]]:
    """The lines the caller may read, as WHERE conditions on a country column (of projects it may read)."""
    countries = line_countries(principal)
    return [] if countries is None else [column.in_(sorted(countries))]


def ensure_can_read_line(session: Session, principal: Principal, project_id: int, country: str) -> None:
    """An indicator line (or its result): 403 outside the caller's countries or projects."""
    if not can_read_line(principal, country):
        raise Forbidden(f"{country} is outside your countries")
    ensure_can_read_project(session, principal, project_id)


def ensure_can_write_line(principal: Principal, country: str) -> None:
    if not can_write_line(principal, country):
        if principal.role == Role.country_officer:
            raise Forbidden(f"{country} is outside your countries",
                            details=[{"field": "country", "message": f"{country} is outside your countries"}])
        raise Forbidden(f"a {principal.role} cannot log or edit results")
