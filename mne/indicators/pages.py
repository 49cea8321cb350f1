"""Indicator form pages (HTML): define a project's indicator, with a baseline and target per
country and optional per-period targets.

Validated by the API's schemas (`IndicatorCreate`, `IndicatorUpdate`) and written by
`mne.indicators.service`: the rules of SPEC §3 live there once, the definitions lock too (the
form shows the locked fields disabled, with their stored values as hidden fields, and asks
for a reason).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session

from mne.auth import scope
from mne.auth.principal import Principal
from mne.base import Aggregation, Direction, Disaggregation, Level, Measure, ReportingFrequency
from mne.deps import EditorUser, SessionDep
from mne.errors import Conflict, DomainError, Forbidden, Invalid
from mne.formatting import input_number
from mne.forms import FormDataDep, field_errors, parse_id, place_errors, refuse_nul, sentence
from mne.indicators import service
from mne.indicators.models import Indicator
from mne.indicators.schemas import IndicatorCreate, IndicatorRead, IndicatorUpdate
from mne.projects import service as projects
from mne.projects.models import Project
from mne.projects.pages import editable_project
from mne.reference import service as reference
from mne.reference.schemas import KOSOVO
from mne.web import path_for, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_nul)])

CHOICES = {
    "levels": {Level.outcome: "Outcome", Level.output: "Output"},
    "measures": {Measure.number: "Number", Measure.percentage: "Percentage"},
    "aggregations": {Aggregation.sum: "Sum — a flow: the actual is the sum of period values",
                     Aggregation.latest: "Latest — a level: the actual is the most recent value"},
    "directions": {Direction.increase: "Increase", Direction.decrease: "Decrease"},
    "disaggregations": {Disaggregation.none: "None", Disaggregation.sex: "By sex",
                        Disaggregation.sex_age: "By sex and age group"},
    "frequencies": {ReportingFrequency.quarterly: "Quarterly — due every quarter",
                    ReportingFrequency.semiannual: "Semiannual — due in Q2 and Q4",
                    ReportingFrequency.annual: "Annual — due in Q4",
                    ReportingFrequency.endline: "Endline — due in the period in which the project ends"},
}
FIELDS = ("code", "statement", "level", "priority", "measure", "aggregation", "direction", "disaggregation",
          "reporting_frequency", "standard_indicator")
TARGET_INPUTS = (("baseline", "baseline"), ("target", "target"), ("opening_actual", "opening"))  # key, input name
# What the error summary calls each field (the form's labels), in the form's order.
LABELS = {"code": "Code", "statement": "Statement", "level": "Level", "priority": "Strategic priority",
          "standard_indicator": "Regional standard indicator", "measure": "Measure", "aggregation": "Aggregation",
          "direction": "Desired direction", "disaggregation": "Disaggregation",
          "reporting_frequency": "Reporting frequency", "targets": "Baseline and target by country"}
COLUMN_LABELS = {"baseline": "Baseline", "target": "Target", "opening_actual": "Opening actual"}
ROW_ERROR = re.compile(r"^(target\.[A-Z]{3}\.(baseline|target|opening_actual)|pt\.[A-Z]{3}\.\w+)$")


def _context(session: Session, principal: Principal, project: Project) -> dict:
    read = projects.read(session, project)
    names = {c.iso3: c for c in reference.countries(session)}
    periods = reference.periods(session)
    return {
        **CHOICES,
        "project": read,
        "countries": [names[c] for c in read.countries if c in names],
        "first_period": periods[0] if periods else None,
        "opening_applies": bool(periods) and project.start_date < periods[0].start_date,
        "periods": [p for p in periods if p.end_date >= project.start_date and p.start_date <= project.end_date],
        "priorities": [p for p in reference.priorities(session) if p.code in read.priorities],
        "standard_indicators": reference.standard_indicators(session),
        "kosovo_note": KOSOVO in read.countries,
        "lead": scope.can_edit_project(session, principal, project),
        "my_countries": principal.countries if principal.role == "country_officer" else frozenset(),
    }


def _others_note(mine: list[str], others: list[str], lead: bool) -> str:
    """What the form shows but this officer cannot change, in words."""
    theirs = ", ".join(others)
    if lead:
        return (f"The baselines and targets of {theirs} are changed by the officers of "
                f"{'that country' if len(others) == 1 else 'those countries'}; here you can add lines, "
                "and remove a line without results by clearing its row.")
    return (f"You can change the baselines and targets of your countries' lines ({', '.join(mine)}); the "
            "definition is changed by the officers of the project's lead country, and the lines of "
            f"{theirs} by theirs.")


def _blank(ctx: dict) -> dict:
    return {"code": "", "statement": "", "level": "outcome", "priority": ctx["project"].priorities[0],
            "measure": "number", "aggregation": "", "direction": "increase", "disaggregation": "none",
            "reporting_frequency": "quarterly", "standard_indicator": "", "targets": {}, "period_targets": {},
            "reason": ""}


def _from_indicator(read: IndicatorRead) -> dict:
    return {"code": read.code, "statement": read.statement, "level": str(read.level), "priority": read.priority,
            "measure": str(read.measure), "aggregation": str(read.aggregation), "direction": str(read.direction),
            "disaggregation": str(read.disaggregation), "reporting_frequency": str(read.reporting_frequency),
            "standard_indicator": read.standard_indicator or "",
            "targets": {t.country: {"baseline": input_number(t.baseline), "target": input_number(t.target),
                                    "opening_actual": input_number(t.opening_actual) if t.opening_actual else ""}
                        for t in read.targets},
            "period_targets": {f"{t.country}.{t.period}": input_number(t.target) for t in read.period_targets},
            "reason": ""}


def _from_post(form, ctx: dict) -> dict:
    raw = {k: str(form.get(k, "")) for k in FIELDS}
    raw["targets"] = {c.iso3: {key: str(form.get(f"{name}-{c.iso3}", "")).strip() for key, name in TARGET_INPUTS}
                      for c in ctx["countries"]}
    raw["reason"] = str(form.get("reason", "")).strip()
    raw["period_targets"] = {}
    for c in ctx["countries"]:
        for p in ctx["periods"]:
            value = str(form.get(f"pt-{c.iso3}-{p.code}", "")).strip()
            if value:
                raw["period_targets"][f"{c.iso3}.{p.code}"] = value
    return raw


def _schema_data(raw: dict, *, create: bool) -> tuple[dict, list[str], list[str]]:
    """The schema's input, and the form row (`target.KGZ`, `pt.KGZ.2024Q1`) of each list item."""
    data = {k: raw[k].strip() for k in FIELDS if k not in ("aggregation", "reporting_frequency", "standard_indicator")}
    data["standard_indicator"] = raw["standard_indicator"].strip() or None
    if raw["reporting_frequency"].strip():  # absent: quarterly for a new indicator, unchanged for an edit
        data["reporting_frequency"] = raw["reporting_frequency"].strip()
    if raw["aggregation"].strip():
        data["aggregation"] = raw["aggregation"].strip()
    elif create:
        data["aggregation"] = None  # the schema's default: sum for numbers, latest for percentages
    targets, target_rows = [], []
    for iso, row in raw["targets"].items():
        if any(row.values()):
            targets.append({"country": iso, **{key: value for key, value in row.items() if value}})
            target_rows.append(f"target.{iso}")
    period_targets, period_rows = [], []
    for key, value in raw["period_targets"].items():
        iso, period = key.split(".", 1)
        period_targets.append({"country": iso, "period": period, "target": value})
        period_rows.append(f"pt.{iso}.{period}")
    data["targets"] = targets
    data["period_targets"] = period_targets
    if not create and raw["reason"]:
        data["reason"] = raw["reason"]
    return data, target_rows, period_rows


def _joined(problems: list[dict]) -> list[dict]:
    """One problem per field, its messages together (a target above 100 and below its baseline
    says both at once, not one per submit)."""
    by_field: dict[str, list[str]] = {}
    for p in problems:
        messages = by_field.setdefault(str(p.get("field") or ""), [])
        if p.get("message") and sentence(str(p["message"])) not in messages:
            messages.append(sentence(str(p["message"])))
    return [{"field": f, "message": " ".join(m)} for f, m in by_field.items() if m]


def _errors(exc, model, target_rows: list[str], period_rows: list[str]) -> dict[str, str]:
    if isinstance(exc, DomainError) and exc.details:
        exc = Invalid(exc.message, details=_joined(exc.details))
    errors = field_errors(exc, model, nested=("targets", "period_targets"))
    out: dict[str, str] = {}
    for field, message in errors.items():
        parts = field.split(".")
        if parts[0] == "targets" and len(parts) == 3 and parts[1].isdecimal() and int(parts[1]) < len(target_rows):
            column = parts[2] if parts[2] in ("baseline", "opening_actual") else "target"
            field = f"{target_rows[int(parts[1])]}.{column}"
        elif parts[0] == "period_targets" and len(parts) >= 2 and parts[1].isdecimal() and int(parts[1]) < len(period_rows):
            field = period_rows[int(parts[1])]
        elif field == "targets" and not target_rows:
            message = "Give a target for at least one of the project's countries."
        out.setdefault(field, message)
    return place_errors(out, lambda f: f in FIELDS or f in ("targets", "period_targets", "reason")
                        or bool(ROW_ERROR.match(f)))


def _summary(ctx: dict, errors: dict[str, str]) -> list[dict]:
    """The error summary at the top of the form, in the form's order: each error with its field's
    label and the id of the input it links to (None for an error of the whole form)."""
    names = {c.iso3: c.name for c in ctx["countries"]}
    items: list[tuple[tuple, dict]] = []
    order = {c.iso3: i for i, c in enumerate(ctx["countries"])}
    periods = {p.code: i for i, p in enumerate(ctx["periods"])}
    for key, message in errors.items():
        parts = key.split(".")
        if key == "":
            rank, label, target = (0,), "", None
        elif key in LABELS:
            rank, label, target = (1, list(LABELS).index(key)), LABELS[key], key
        elif parts[0] == "target" and len(parts) == 3:
            iso, column = parts[1], parts[2]
            rank = (2, order.get(iso, 99), list(COLUMN_LABELS).index(column) if column in COLUMN_LABELS else 9)
            label = f"{COLUMN_LABELS.get(column, column)} for {names.get(iso, iso)}"
            target = f"{dict(TARGET_INPUTS).get(column, column)}-{iso}"
        elif key == "period_targets":
            rank, label, target = (3,), "Per-period targets", key
        elif parts[0] == "pt" and len(parts) == 3:
            rank = (4, periods.get(parts[2], 999), order.get(parts[1], 99))
            label, target = f"Target of {names.get(parts[1], parts[1])} for {parts[2]}", f"pt-{parts[1]}-{parts[2]}"
        else:  # "reason"
            rank, label, target = (5,), "Reason for the change", key
        items.append((rank, {"label": label, "message": message, "target": target}))
    return [item for _, item in sorted(items, key=lambda pair: pair[0])]


def _form_page(request: Request, session: Session, ctx: dict, *, form: dict, errors: dict,
               indicator: Indicator | None = None, status_code: int = 200, notice: str = ""):
    # The form posts back to its page's address (the POST routes share their names with the API's).
    action = (path_for(request, "indicator_edit", indicator_id=indicator.id) if indicator
              else path_for(request, "indicator_new", code=ctx["project"].code))
    approved = service.approved_periods(session, indicator.id) if indicator else []
    locked = sentence(f"locked: {service.lock_reason(approved)}") if approved else ""
    # What this officer may change (service._ensure_can_change): the definition and which lines
    # there are if the project is led by its country (so every row stays open to it: a row is
    # added or cleared there, and the service refuses a changed number of another country);
    # otherwise only the lines of its countries.
    lead = ctx["lead"]
    stored_read = service.read(session, indicator) if indicator else None
    existing = {t.country for t in stored_read.targets} if stored_read else set()
    own = {c.iso3 for c in ctx["countries"] if lead or c.iso3 in ctx["my_countries"]}
    others = existing - set(ctx["my_countries"])
    fixed = [k for k in service.DEFINITION_FIELDS if not lead] or (list(service.LOCKED_FIELDS) if locked else [])
    if stored_read is not None:  # a field the caller cannot change shows what is stored, whatever was posted
        stored = _from_indicator(stored_read)
        form = {**form, **{k: stored[k] for k in fixed},
                "targets": {**form["targets"], **{c: row for c, row in stored["targets"].items() if c not in own}},
                "period_targets": {**{k: v for k, v in form["period_targets"].items() if k.split(".")[0] in own},
                                   **{k: v for k, v in stored["period_targets"].items() if k.split(".")[0] not in own}}}
    return render(request, "projects/indicator_form.html", {
        **ctx, "form": form, "errors": errors, "summary_items": _summary(ctx, errors), "notice": notice,
        "indicator": indicator, "action": action, "locked": locked,
        "fixed": fixed, "own_rows": own, "lead": lead,
        "others_note": _others_note(sorted(set(ctx["my_countries"]) & existing), sorted(others), lead)
        if others else "",
        "show_period_targets": bool(form["period_targets"]) or any(k.startswith("pt.") for k in errors),
        "show_opening": ctx["opening_applies"] or any(row.get("opening_actual") for row in form["targets"].values())
        or any(k.endswith(".opening_actual") for k in errors),
    }, status_code=status_code)


def _save(request: Request, session: Session, principal: Principal, form, project: Project,
          indicator: Indicator | None):
    ctx = _context(session, principal, project)
    raw = _from_post(form, ctx)
    data, target_rows, period_rows = _schema_data(raw, create=indicator is None)
    model = IndicatorUpdate if indicator else IndicatorCreate
    try:
        body = model.model_validate(data)
        if indicator:
            saved = service.update(session, principal, indicator, project, body)
        else:
            saved = service.create(session, principal, project, body)
    except ValidationError as exc:
        errors = _errors(exc, model, target_rows, period_rows)
        # The rules' problems with what the schema did accept, shown in the same round.
        before = service.read(session, indicator) if indicator else None
        problems = service.problems_beside_schema(session, project, data, [e["loc"] for e in exc.errors()],
                                                  before=before)
        if problems:
            for field, message in _errors(Invalid("", details=problems), None, target_rows, period_rows).items():
                errors.setdefault(field, message)
    except Invalid as exc:
        session.rollback()
        errors = _errors(exc, None, target_rows, period_rows)
    except Forbidden as exc:  # a line of another country, or the definition of a project led elsewhere
        session.rollback()
        # The messages in words: the exception's own message names the fields as the API does.
        why = " ".join(p["message"] for p in _joined(exc.details)) if exc.details else sentence(exc.message)
        errors = {**_errors(exc, None, target_rows, period_rows), "": f"Nothing has been saved: {why}"}
        return _form_page(request, session, ctx, form=raw, errors=errors, indicator=indicator, status_code=403)
    except Conflict as exc:  # the definitions lock: a result has been approved
        session.rollback()
        errors = {**_errors(exc, None, target_rows, period_rows),
                  "": f"Nothing has been saved: {sentence(exc.message)}"}
        return _form_page(request, session, ctx, form=raw, errors=errors, indicator=indicator,
                          status_code=exc.status_code)
    else:
        if indicator is None and form.get("then") == "another":  # "Save and add another": an empty form again
            page = path_for(request, "indicator_new", code=project.code)
            return RedirectResponse(f"{page}?added={saved.id}", status_code=303)
        notice = "indicator-saved" if indicator else "indicator-added"
        page = path_for(request, "project_page", code=project.code)
        return RedirectResponse(f"{page}?notice={notice}#ind-{saved.id}", status_code=303)
    return _form_page(request, session, ctx, form=raw, errors=errors, indicator=indicator, status_code=422)


@router.get("/projects/{code}/indicators/new", name="indicator_new")
def new_indicator_page(request: Request, code: str, session: SessionDep, principal: EditorUser, added: str = ""):
    project = editable_project(session, principal, code)
    ctx = _context(session, principal, project)
    # After "Save and add another": which indicator was saved, if it is one of this project's.
    saved = session.get(Indicator, int(added)) if added.isascii() and added.isdigit() and len(added) < 19 else None
    notice = (f"Indicator {saved.code} saved. Add the next one, or go back to the project."
              if saved is not None and saved.project_id == project.id else "")
    return _form_page(request, session, ctx, form=_blank(ctx), errors={}, notice=notice)


@router.post("/projects/{code}/indicators/new")
def create_indicator(request: Request, code: str, session: SessionDep, principal: EditorUser, form: FormDataDep):
    return _save(request, session, principal, form, editable_project(session, principal, code), None)


def _editable_indicator(session: Session, principal: Principal, indicator_id: str) -> tuple[Indicator, Project]:
    indicator, project = service.get(session, principal, parse_id(indicator_id, "indicator"))
    if not service.can_edit(session, principal, project, service.read(session, indicator)):
        raise Forbidden("only an officer of the project's lead country, or of a country of one of the "
                        "indicator's lines, can edit this indicator")
    return indicator, project


@router.get("/indicators/{indicator_id}/edit", name="indicator_edit")
def edit_indicator_page(request: Request, indicator_id: str, session: SessionDep, principal: EditorUser):
    indicator, project = _editable_indicator(session, principal, indicator_id)
    ctx = _context(session, principal, project)
    return _form_page(request, session, ctx, form=_from_indicator(service.read(session, indicator)), errors={},
                      indicator=indicator)


@router.post("/indicators/{indicator_id}/edit")
def update_indicator(request: Request, indicator_id: str, session: SessionDep, principal: EditorUser,
                     form: FormDataDep):
    indicator, project = _editable_indicator(session, principal, indicator_id)
    return _save(request, session, principal, form, project, indicator)
