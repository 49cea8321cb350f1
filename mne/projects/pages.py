"""Project pages (HTML): the list with search and filters, a project's page, and its form.

The form validates with the API's schemas (`ProjectCreate`, `ProjectUpdate`) and writes through
`mne.projects.service`, so every rule lives once; this module only turns form fields into the
schema's shape and the errors back into messages beside the fields.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session

from mne.auth import scope
from mne.auth.principal import Principal
from mne.base import ProjectStatus, Role
from mne.deps import CurrentUser, EditorUser, SessionDep
from mne.errors import Forbidden, Invalid
from mne.filters import Filters
from mne.formatting import input_number
from mne.forms import FormDataDep, field_errors, parse_page, place_errors, refuse_nul, sentence
from mne.htmx import htmx
from mne.indicators import service as indicators
from mne.progress import service as progress
from mne.progress.rules import PeriodInfo
from mne.projects import service
from mne.projects.models import Project
from mne.projects.schemas import ProjectCreate, ProjectRead, ProjectUpdate
from mne.reference import service as reference
from mne.reference.periods import resolve_as_of
from mne.reference.schemas import KOSOVO
from mne.web import path_for, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_nul)])

PER_PAGE = 25
STATUS_LABELS = {ProjectStatus.pipeline: "Pipeline", ProjectStatus.active: "Active", ProjectStatus.closed: "Closed"}
NOTICES = {
    "created": "The project has been registered. Define its indicators next.",
    "saved": "Your changes to the project have been saved.",
    "indicator-added": "The indicator has been added.",
    "indicator-saved": "Your changes to the indicator have been saved.",
}
BLANK_DONOR_ROWS = 3
PROJECT_FIELDS = {"code", "title", "summary", "start_date", "end_date", "status", "office", "budget_usd",
                  "countries", "priorities", "donors", "sdg_targets", "gcm_objectives", "markers"}
DONOR_ROW_ERROR = re.compile(r"^donors\.\d+\.(code|amount_usd)$")
# What the error summary calls each field (the form's labels, in its order) and the input it links to.
SUMMARY_FIELDS = {"code": "Code", "title": "Title", "summary": "Summary", "start_date": "Start date",
                  "end_date": "End date", "status": "Status", "office": "Lead office", "budget_usd": "Budget (USD)",
                  "countries": "Countries and territories", "priorities": "Strategic priorities",
                  "donors": "Donors", "sdg_targets": "SDG targets and indicators",
                  "gcm_objectives": "GCM objectives", "markers": "Markers"}


# --- the list -----------------------------------------------------------------------------

def _one(value: str) -> tuple[str, ...]:
    value = value.strip()
    return (value,) if value else ()


@router.get("/projects", name="projects_page")
def projects_page(
    request: Request, session: SessionDep, principal: CurrentUser,
    q: str = "", country: str = "", subregion: str = "", priority: str = "", donor: str = "",
    status: str = "", page: str = "1",
):
    q = q.strip()[:200]
    status = status if status in STATUS_LABELS else ""
    params = {"q": q, "country": country.strip().upper()[:3], "subregion": subregion.strip()[:4],
              "priority": priority.strip()[:8], "donor": donor.strip()[:32], "status": status}
    filters = Filters(country=_one(params["country"]), subregion=_one(params["subregion"]),
                      priority=_one(params["priority"]), donor=_one(params["donor"]))
    found = service.search(session, principal, q=q, filters=filters, status=status or None,
                           page=parse_page(page), per_page=PER_PAGE)
    kept = {k: v for k, v in params.items() if v}
    here = path_for(request, "projects_page")
    response = render(request, "projects/list.html", {
        "found": found, "params": params, "filtered": bool(kept),
        "page_url": lambda n: here + "?" + urlencode({**kept, "page": n}),
        "countries": {c.iso3: c for c in reference.countries(session)},
        "subregions": reference.subregions(session),
        "priorities": reference.priorities(session),
        "donors": reference.donors(session),
        "statuses": STATUS_LABELS,
        "can_register": principal.role == Role.country_officer,
    }, block="results")
    query = urlencode({**kept, **({"page": found.page} if found.page > 1 else {})})
    return htmx(request).push_url(response, here + (f"?{query}" if query else ""))  # the clean URL, to bookmark


# --- the form -----------------------------------------------------------------------------

def _choices(session: Session, principal: Principal, current_office: str | None = None) -> dict:
    countries = {c.iso3: c for c in reference.countries(session)}
    offices = [o for o in reference.offices(session)
               if (o.country_iso3 and o.country_iso3 in principal.countries) or o.name == current_office]
    return {
        "country_groups": [{"code": s.code, "name": s.name, "countries": [countries[i] for i in s.countries]}
                           for s in reference.subregions(session) if s.countries],
        "country_names": countries,
        "priorities": reference.priorities(session),
        "donors": reference.donors(session),
        "sdg_targets": reference.sdg_targets(session),
        "gcm_objectives": reference.gcm_objectives(session),
        "markers": reference.markers(session),
        "offices": offices,
        "statuses": STATUS_LABELS,
    }


def _blank() -> dict:
    return {"code": "", "title": "", "summary": "", "start_date": "", "end_date": "", "status": "active",
            "office": "", "budget_usd": "", "countries": [], "primary_priority": "", "priorities": [],
            "donors": [{"code": "", "amount": ""} for _ in range(BLANK_DONOR_ROWS)],
            "sdg_targets": [], "gcm_objectives": [], "markers": []}


def _from_project(read: ProjectRead) -> dict:
    donors = [{"code": d.code, "amount": input_number(d.amount_usd)} for d in read.donors]
    donors += [{"code": "", "amount": ""} for _ in range(max(1, BLANK_DONOR_ROWS - len(donors)))]
    return {"code": read.code, "title": read.title, "summary": read.summary,
            "start_date": read.start_date.isoformat(), "end_date": read.end_date.isoformat(),
            "status": str(read.status), "office": read.office or "", "budget_usd": input_number(read.budget_usd),
            "countries": list(read.countries), "primary_priority": read.priorities[0],
            "priorities": list(read.priorities[1:]), "donors": donors, "sdg_targets": list(read.sdg_targets),
            "gcm_objectives": [str(g) for g in read.gcm_objectives], "markers": list(read.markers)}


def _from_post(form) -> dict:
    """What the user typed, kept as typed to show the form again."""
    codes, amounts = form.getlist("donor_code"), form.getlist("donor_amount")
    rows = [{"code": str(c).strip(), "amount": str(a).strip()} for c, a in zip(codes, amounts, strict=False)]
    if form.get("action") == "add-donor":
        rows.append({"code": "", "amount": ""})
    text = {k: str(form.get(k, "")) for k in ("code", "title", "summary", "start_date", "end_date", "status",
                                              "office", "budget_usd", "primary_priority")}
    return {**text, "countries": form.getlist("countries"), "priorities": form.getlist("priorities"),
            "donors": rows or [{"code": "", "amount": ""}], "sdg_targets": form.getlist("sdg_targets"),
            "gcm_objectives": form.getlist("gcm_objectives"), "markers": form.getlist("markers")}


def _schema_data(raw: dict, *, create: bool) -> tuple[dict, list[int]]:
    """The schema's input from the typed form, and the form row of each donor sent."""
    data: dict = {"title": raw["title"], "summary": raw["summary"], "status": raw["status"],
                  "office": raw["office"].strip() or None, "budget_usd": raw["budget_usd"].strip() or None,
                  "countries": raw["countries"], "sdg_targets": raw["sdg_targets"],
                  "gcm_objectives": raw["gcm_objectives"], "markers": raw["markers"]}
    if create:
        data["code"] = raw["code"].strip()
    for field in ("start_date", "end_date"):
        value = raw[field].strip()
        if value or not create:  # blank: "required" when creating, "cannot be empty" when editing
            data[field] = value or None
    primary = raw["primary_priority"].strip()
    data["priorities"] = ([primary] if primary else []) + [p for p in raw["priorities"] if p != primary]
    rows: list[int] = []
    donors = []
    for j, row in enumerate(raw["donors"]):
        if row["code"] or row["amount"]:
            donors.append({"code": row["code"], "amount_usd": row["amount"].replace(",", "") or None})
            rows.append(j)
    data["donors"] = donors
    return data, rows


def _errors(exc, model, rows: list[int]) -> dict[str, str]:
    errors = field_errors(exc, model, nested=("donors",))
    out: dict[str, str] = {}
    for field, message in errors.items():
        parts = field.split(".")
        if parts[0] == "donors" and len(parts) == 3 and parts[1].isdecimal() and int(parts[1]) < len(rows):
            field = f"donors.{rows[int(parts[1])]}.{parts[2]}"
        out.setdefault(field, message)
    return place_errors(out, lambda f: f in PROJECT_FIELDS or bool(DONOR_ROW_ERROR.match(f)))


def _summary(errors: dict[str, str]) -> list[dict]:
    """The error summary at the top of the form, in the form's order, each error linking to its
    input (`templates/_error_summary.html`); an error of the whole form has no target."""
    order = list(SUMMARY_FIELDS)
    items = []
    for key, message in errors.items():
        if key in SUMMARY_FIELDS:
            target = "primary_priority" if key == "priorities" else key
            items.append(((order.index(key), 0), {"label": SUMMARY_FIELDS[key], "message": message, "target": target}))
        elif DONOR_ROW_ERROR.match(key):
            _, row, column = key.split(".")
            label = f"Donor {int(row) + 1}" if column == "code" else f"Amount (USD) of donor {int(row) + 1}"
            target = f"donor-{'code' if column == 'code' else 'amount'}-{row}"
            items.append(((order.index("donors"), int(row) * 2 + (column != "code")),
                          {"label": label, "message": message, "target": target}))
        elif key == "":
            items.append(((-1, 0), {"label": "", "message": message, "target": None}))
    return [item for _, item in sorted(items, key=lambda pair: pair[0])]


def _form_page(request: Request, session: Session, principal: Principal, *, form: dict, errors: dict,
               project: Project | None = None, status_code: int = 200):
    return render(request, "projects/form.html", {
        **_choices(session, principal, form.get("office") or None),
        "form": form, "errors": errors, "summary_items": _summary(errors), "project": project,
        # The form posts back to its page's address (the POST routes share their names with the API's).
        "action": path_for(request, "project_edit", code=project.code) if project else path_for(request, "project_new"),
    }, status_code=status_code)


@router.get("/projects/new", name="project_new")
def new_project_page(request: Request, session: SessionDep, principal: EditorUser):
    form = _blank()
    form["countries"] = sorted(principal.countries)  # all of the officer's countries: untick the others
    return _form_page(request, session, principal, form=form, errors={})


def _save(request: Request, session: Session, principal: Principal, form, project: Project | None):
    raw = _from_post(form)
    if form.get("action") == "add-donor":  # another donor row; nothing is saved yet
        return _form_page(request, session, principal, form=raw, errors={}, project=project)
    data, rows = _schema_data(raw, create=project is None)
    model = ProjectUpdate if project else ProjectCreate
    status_code = 422
    try:
        body = model.model_validate(data)
        saved = service.update(session, principal, project, body) if project else service.create(session, principal, body)
    except ValidationError as exc:
        errors = _errors(exc, model, rows)
    except Invalid as exc:
        session.rollback()
        errors = _errors(exc, None, rows)
    except Forbidden as exc:  # e.g. a lead office or countries outside the officer's own
        session.rollback()
        errors, status_code = {"": sentence(exc.message)}, 403
    else:
        notice = "saved" if project else "created"
        page = path_for(request, "project_page", code=saved.code)
        return RedirectResponse(f"{page}?notice={notice}", status_code=303)
    return _form_page(request, session, principal, form=raw, errors=errors, project=project,
                      status_code=status_code)


@router.post("/projects/new")
def create_project(request: Request, session: SessionDep, principal: EditorUser, form: FormDataDep):
    return _save(request, session, principal, form, None)


def editable_project(session: Session, principal: Principal, code: str) -> Project:
    """The project (404/403 as for reading), and 403 unless the caller may edit it."""
    project = scope.get_project_by_code(session, principal, code)
    if not scope.can_edit_project(session, principal, project):
        raise Forbidden("only an officer of the project's lead country can edit it")
    return project


@router.get("/projects/{code}/edit", name="project_edit")
def edit_project_page(request: Request, code: str, session: SessionDep, principal: EditorUser):
    project = editable_project(session, principal, code)
    return _form_page(request, session, principal, form=_from_project(service.read(session, project)),
                      errors={}, project=project)


@router.post("/projects/{code}/edit")
def update_project(request: Request, code: str, session: SessionDep, principal: EditorUser, form: FormDataDep):
    return _save(request, session, principal, form, editable_project(session, principal, code))


# --- one project --------------------------------------------------------------------------

@router.get("/projects/{code}", name="project_page")
def project_page(request: Request, code: str, session: SessionDep, principal: CurrentUser, notice: str = ""):
    project = scope.get_project_by_code(session, principal, code)
    read = service.read(session, project)
    as_of, lines = _line_progress(session, principal, project)
    choices = {
        "countries": {c.iso3: c for c in reference.countries(session)},
        "priorities": {p.code: p for p in reference.priorities(session)},
        "donors": {d.code: d.name for d in reference.donors(session)},
        "sdgs": {s.code: s.title for s in reference.sdg_targets(session)},
        "gcms": {g.number: g.title for g in reference.gcm_objectives(session)},
        "markers": {m.code: m.name for m in reference.markers(session)},
        "standard": {s.code: s.statement for s in reference.standard_indicators(session)},
    }
    return render(request, "projects/detail.html", {
        **choices, "project": read,
        "indicators": indicators.list_for_project(session, principal, project),
        "can_edit": scope.can_edit_project(session, principal, project),
        # An officer edits its countries' lines of any indicator (mne.indicators.service.own_lines).
        "my_countries": principal.countries if principal.role == "country_officer" else frozenset(),
        "donor_total": sum(d.amount_usd or 0 for d in read.donors),
        "kosovo_note": KOSOVO in read.countries,
        "statuses": STATUS_LABELS,
        "notice": NOTICES.get(notice, ""),
        "as_of": as_of, "line_progress": lines,
    })


def _line_progress(session: Session, principal: Principal, project: Project) -> tuple[PeriodInfo | None, dict]:
    """Each line's figures as of the default period, `{(indicator id, country): LineRow}`: the
    dashboard's own rows (`progress.service.indicator_lines`, read from the precomputed
    summaries), so both pages always agree. The caller's lines only, as on the dashboard: an
    officer sees its own countries' progress."""
    try:
        as_of = resolve_as_of(session, None)
    except Invalid:  # no reporting period yet: nothing to be measured against
        return None, {}
    rows, _ = progress.indicator_lines(session, principal, Filters(project=(project.code,)), as_of)
    return as_of, {(r.indicator_id, r.country): r for r in rows}
