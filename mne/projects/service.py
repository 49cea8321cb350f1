"""Projects: validation against reference data and scope, writes with audit, reads, lists."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlmodel import Session, delete, select

from mne.audit import service as audit
from mne.auth import scope
from mne.auth.principal import Principal
from mne.base import utcnow
from mne.errors import Forbidden, Invalid
from mne.filters import Filters
from mne.indicators.models import Indicator, IndicatorTarget
from mne.progress import snapshots
from mne.projects.models import (
    Project,
    ProjectCountry,
    ProjectDonor,
    ProjectGcm,
    ProjectMarker,
    ProjectPriority,
    ProjectSdg,
)
from mne.projects.schemas import DonorShare, ProjectCreate, ProjectRead, ProjectUpdate
from mne.reference.models import Country, Donor, Marker, Office, Period, Priority, SdgTarget
from mne.results.models import Result

TAGS = ("countries", "priorities", "donors", "sdg_targets", "gcm_objectives", "markers")


def _unknown(session: Session, column, values) -> list:
    if not values:
        return []
    known = set(session.exec(select(column).where(column.in_(list(values)))))
    return [v for v in values if v not in known]


def _office_id(session: Session, name: str | None) -> int | None:
    if not name:
        return None
    office = session.exec(select(Office).where(Office.name == name)).first()
    if office is None:
        raise Invalid.field("office", f"unknown office {name!r}")
    return office.id


def _validate(session: Session, data: dict, *, project_id: int | None) -> list[dict]:
    """Every problem of a merged project, each naming its field."""
    problems: list[dict] = []

    def bad(field: str, message: str) -> None:
        problems.append({"field": field, "message": message})

    if data["end_date"] < data["start_date"]:
        bad("end_date", "must be on or after the start date")
    for field, column, values in (
        ("countries", Country.iso3, data["countries"]),
        ("priorities", Priority.code, data["priorities"]),
        ("donors", Donor.code, [d.code for d in data["donors"]]),
        ("sdg_targets", SdgTarget.code, data["sdg_targets"]),
        ("markers", Marker.code, data["markers"]),
    ):
        unknown = _unknown(session, column, values)
        if unknown:
            bad(field, f"unknown code {', '.join(map(str, unknown))}")
    code_owner = session.exec(select(Project.id).where(Project.code == data["code"])).first()
    if code_owner is not None and code_owner != project_id:
        bad("code", f"{data['code']} is already used by another project")
    if project_id is not None:
        # A country or priority still used by indicator lines cannot be taken away.
        used = set(session.exec(
            select(IndicatorTarget.country_iso3).join(Indicator, Indicator.id == IndicatorTarget.indicator_id)
            .where(Indicator.project_id == project_id)))
        dropped = sorted(used - set(data["countries"]))
        if dropped:
            bad("countries", f"{', '.join(dropped)} still has indicator targets; remove them from the indicators first")
        used = set(session.exec(select(Indicator.priority_code).where(Indicator.project_id == project_id)))
        dropped = sorted(used - set(data["priorities"]))
        if dropped:
            bad("priorities", f"{', '.join(dropped)} is still the priority of an indicator")
        if data["end_date"] >= data["start_date"]:
            problems += _results_outside(session, project_id, data["start_date"], data["end_date"])
    return problems


def _results_outside(session: Session, project_id: int, start, end) -> list[dict]:
    """Stored results (of any status) whose period would no longer overlap the project's dates:
    they could then be neither changed nor counted, so the dates cannot shrink past them, as a
    result cannot be saved in a period outside them (`results.service.in_project_dates`)."""
    rows = session.exec(
        select(Period.code, Period.start_date, Result.status, func.count())
        .join(Result, Result.period_code == Period.code).join(Indicator, Indicator.id == Result.indicator_id)
        .where(Indicator.project_id == project_id, or_(Period.end_date < start, Period.start_date > end))
        .group_by(Period.code, Period.start_date, Result.status)).all()
    problems = []
    for field, before_start in (("start_date", True), ("end_date", False)):
        side = sorted((r for r in rows if (r[1] < start) == before_start), key=lambda r: (r[1], r[0]))
        if not side:
            continue
        periods = sorted({r[0] for r in side}, key=lambda c: next(r[1] for r in side if r[0] == c))
        by_status: dict[str, int] = defaultdict(int)
        for r in side:
            by_status[r[2]] += r[3]
        total = sum(by_status.values())
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
        span = periods[0] if len(periods) == 1 else f"{periods[0]}–{periods[-1]}"
        shown = ", ".join(periods[:8]) + (" …" if len(periods) > 8 else "")
        where = "before this start date" if before_start else "after this end date"
        problems.append({"field": field, "message": (
            f"{span}: {total} result{'s' if total != 1 else ''} ({statuses}) would fall {where} "
            f"(periods {shown}); the dates must keep every period that has results")})
    return problems


def _check_scope(session: Session, principal: Principal, data: dict) -> None:
    """An officer registers and edits projects led by its countries."""
    if principal.role != "country_officer":
        raise Forbidden(f"a {principal.role} cannot register or edit projects")
    office_id = _office_id(session, data.get("office"))
    if office_id is not None:
        office = session.get(Office, office_id)
        if office.country_iso3 and office.country_iso3 not in principal.countries:
            raise Forbidden(f"the lead office {office.name} is outside your countries")
    if not set(data["countries"]) & principal.countries:
        raise Forbidden("a project you register must include at least one of your countries")


def _write_tags(session: Session, project_id: int, data: dict) -> None:
    for model in (ProjectCountry, ProjectPriority, ProjectDonor, ProjectSdg, ProjectGcm, ProjectMarker):
        session.exec(delete(model).where(model.project_id == project_id))
    session.flush()
    session.add_all(ProjectCountry(project_id=project_id, country_iso3=c) for c in data["countries"])
    session.add_all(ProjectPriority(project_id=project_id, priority_code=p, position=i)
                    for i, p in enumerate(data["priorities"]))
    session.add_all(ProjectDonor(project_id=project_id, donor_code=d.code, amount_usd=d.amount_usd)
                    for d in data["donors"])
    session.add_all(ProjectSdg(project_id=project_id, sdg_code=s) for s in data["sdg_targets"])
    session.add_all(ProjectGcm(project_id=project_id, gcm_number=g) for g in data["gcm_objectives"])
    session.add_all(ProjectMarker(project_id=project_id, marker_code=m) for m in data["markers"])


def read(session: Session, project: Project) -> ProjectRead:
    return read_many(session, [project])[0]


def read_many(session: Session, projects: list[Project]) -> list[ProjectRead]:
    ids = [p.id for p in projects]
    tags: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    if ids:
        for pid, c in session.exec(select(ProjectCountry.project_id, ProjectCountry.country_iso3)
                                   .where(ProjectCountry.project_id.in_(ids)).order_by(ProjectCountry.country_iso3)):
            tags[pid]["countries"].append(c)
        for pid, c in session.exec(select(ProjectPriority.project_id, ProjectPriority.priority_code)
                                   .where(ProjectPriority.project_id.in_(ids)).order_by(ProjectPriority.position)):
            tags[pid]["priorities"].append(c)
        for pid, c, a in session.exec(select(ProjectDonor.project_id, ProjectDonor.donor_code, ProjectDonor.amount_usd)
                                      .where(ProjectDonor.project_id.in_(ids)).order_by(ProjectDonor.donor_code)):
            tags[pid]["donors"].append(DonorShare(code=c, amount_usd=a))
        for pid, c in session.exec(select(ProjectSdg.project_id, ProjectSdg.sdg_code)
                                   .where(ProjectSdg.project_id.in_(ids)).order_by(ProjectSdg.sdg_code)):
            tags[pid]["sdg_targets"].append(c)
        for pid, c in session.exec(select(ProjectGcm.project_id, ProjectGcm.gcm_number)
                                   .where(ProjectGcm.project_id.in_(ids)).order_by(ProjectGcm.gcm_number)):
            tags[pid]["gcm_objectives"].append(c)
        for pid, c in session.exec(select(ProjectMarker.project_id, ProjectMarker.marker_code)
                                   .where(ProjectMarker.project_id.in_(ids)).order_by(ProjectMarker.marker_code)):
            tags[pid]["markers"].append(c)
    office_ids = {p.office_id for p in projects if p.office_id}
    offices = {o.id: o.name for o in session.exec(select(Office).where(Office.id.in_(office_ids)))} if office_ids else {}
    return [
        ProjectRead(
            code=p.code, title=p.title, summary=p.summary, start_date=p.start_date, end_date=p.end_date,
            status=p.status, office=offices.get(p.office_id), budget_usd=p.budget_usd,
            created_at=p.created_at, updated_at=p.updated_at,
            **{t: tags[p.id][t] for t in TAGS},
        )
        for p in projects
    ]


def _snapshot(read_model: ProjectRead) -> dict:
    return read_model.model_dump(mode="json", exclude={"created_at", "updated_at"})


def create(session: Session, principal: Principal, body: ProjectCreate) -> ProjectRead:
    data = body.model_dump()
    data["donors"] = body.donors
    _check_scope(session, principal, data)
    problems = _validate(session, data, project_id=None)
    office_id = None if any(p["field"] == "office" for p in problems) else _office_id(session, body.office)
    if problems:
        raise Invalid("; ".join(f"{p['field']}: {p['message']}" for p in problems), details=problems)
    project = Project(code=body.code, title=body.title, summary=body.summary, start_date=body.start_date,
                      end_date=body.end_date, status=body.status, office_id=office_id, budget_usd=body.budget_usd)
    session.add(project)
    session.flush()
    _write_tags(session, project.id, data)
    session.flush()
    result = read(session, project)
    audit.record(session, actor_id=principal.id, action="project.create", entity="project",
                 entity_id=project.id, after=_snapshot(result))
    return result


def update(session: Session, principal: Principal, project: Project, body: ProjectUpdate) -> ProjectRead:
    before = read(session, project)
    if not scope.can_edit_project(session, principal, project):
        raise Forbidden("only an officer of the project's lead country can edit it")
    changes = body.model_dump(exclude_unset=True)
    if "donors" in changes:
        changes["donors"] = body.donors
    for field in ("title", "start_date", "end_date", "status", "countries", "priorities"):
        if field in changes and changes[field] is None:
            raise Invalid.field(field, "cannot be empty")
    data = {**before.model_dump(), "donors": before.donors, **changes}
    for field in ("sdg_targets", "markers", "gcm_objectives", "donors"):
        data[field] = data[field] or []
    _check_scope(session, principal, data)
    problems = _validate(session, data, project_id=project.id)
    if problems:
        raise Invalid("; ".join(f"{p['field']}: {p['message']}" for p in problems), details=problems)
    for field in ("title", "summary", "start_date", "end_date", "status", "budget_usd"):
        if field in changes:
            setattr(project, field, data[field] if data[field] is not None or field == "budget_usd" else "")
    if "office" in changes:
        project.office_id = _office_id(session, data["office"])
    project.updated_at = utcnow()
    session.add(project)
    _write_tags(session, project.id, data)
    session.flush()
    after = read(session, project)
    audit.record(session, actor_id=principal.id, action="project.update", entity="project",
                 entity_id=project.id, before=_snapshot(before), after=_snapshot(after))
    if (before.start_date, before.end_date) != (after.start_date, after.end_date):
        snapshots.mark_project(session, project.id)  # expected progress follows the dates
    return after


@dataclass
class ProjectPage:
    items: list[ProjectRead]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search(
    session: Session,
    principal: Principal,
    *,
    q: str = "",
    filters: Filters = Filters(),
    status: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> ProjectPage:
    """Projects the caller may read, matching the text and filters, one page at a time."""
    conditions = [scope.visible_projects(principal)]
    if q:
        like = f"%{q.strip().lower()}%"
        conditions.append(or_(func.lower(Project.code).like(like), func.lower(Project.title).like(like)))
    if status:
        conditions.append(Project.status == status)
    # Country, subregion and priority match the project's tags (not its indicators) in lists.
    conditions += [filters.project_clause(), filters.project_tag_clause()]
    total = session.exec(select(func.count()).select_from(Project).where(*conditions)).one()
    page = max(1, page)
    rows = list(session.exec(
        select(Project).where(*conditions).order_by(Project.code).offset((page - 1) * per_page).limit(per_page)))
    return ProjectPage(items=read_many(session, rows), total=total, page=page, per_page=per_page)
