"""Admin pages of reference data (donors, subregion mapping, standard indicators) and of
reporting periods (HTML)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session

from mne.auth.principal import Principal
from mne.base import Aggregation, Disaggregation, Measure, PeriodStatus
from mne.deps import AdminUser, SessionDep
from mne.errors import Conflict, Invalid
from mne.forms import field_errors
from mne.reference import service
from mne.reference.schemas import DonorCreate, PeriodCreate, StandardIndicatorCreate, StandardIndicatorUpdate
from mne.web import path_for, render

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]
NOTICES = {
    "donor-added": "The donor has been added.",
    "donor-renamed": "The donor has been renamed.",
    "country-saved": "The subregion mapping has been saved. Roll-ups by subregion follow it at once.",
    "indicator-added": "The standard indicator has been added.",
    "indicator-saved": "The standard indicator has been saved.",
    "period-added": "The reporting period has been added.",
    "period-closed": "The reporting period has been closed: its results can no longer be created or changed.",
    "period-opened": "The reporting period has been reopened: its results can be logged and edited again.",
}
CHOICES = {
    "measures": {Measure.number: "Number", Measure.percentage: "Percentage"},
    "aggregations": {Aggregation.sum: "Sum (a flow: period values add up)",
                     Aggregation.latest: "Latest (a level: the most recent value)"},
    "disaggregations": {Disaggregation.none: "None", Disaggregation.sex: "By sex",
                        Disaggregation.sex_age: "By sex and age group"},
}


def _redirect(request: Request, page: str, notice: str, anchor: str = "") -> RedirectResponse:
    """Back to an admin page (by route name) with its notice, at `anchor`."""
    return RedirectResponse(f"{path_for(request, page)}?notice={notice}" + (f"#{anchor}" if anchor else ""),
                            status_code=303)


# --- reference data -----------------------------------------------------------------------

def _reference_page(request: Request, session: Session, *, errors: dict | None = None,
                    values: dict | None = None, notice: str = "", status_code: int = 200):
    """The page; `errors` and `values` are keyed by form ("donor_new", "donor:ECHO", …)."""
    return render(request, "admin/reference.html", {
        **CHOICES,
        "donors": service.donors(session),
        "countries": service.countries(session),
        "subregions": service.subregions(session),
        "indicators": service.standard_indicators(session),
        "priorities": service.priorities(session),
        "errors": errors or {}, "values": values or {}, "notice": NOTICES.get(notice, ""),
    }, status_code=status_code)


def _reference_error(request: Request, session: Session, form: str, exc, values: dict, model=None):
    session.rollback()
    return _reference_page(request, session, errors={form: field_errors(exc, model)}, values={form: values},
                           status_code=422)


@router.get("/admin/reference", name="admin_reference")
def reference_page(request: Request, session: SessionDep, _: AdminUser, notice: str = ""):
    return _reference_page(request, session, notice=notice)


@router.post("/admin/reference/donors")
def add_donor(request: Request, session: SessionDep, principal: AdminUser, code: FormStr = "", name: FormStr = ""):
    values = {"code": code, "name": name}
    try:
        service.create_donor(session, DonorCreate(code=code.strip(), name=name.strip()), actor_id=principal.id)
    except ValidationError as exc:
        return _reference_error(request, session, "donor_new", exc, values, DonorCreate)
    except (Invalid, Conflict) as exc:
        return _reference_error(request, session, "donor_new", exc, values)
    return _redirect(request, "admin_reference", "donor-added", "donors")


@router.post("/admin/reference/donors/{code}")
def rename_donor(request: Request, session: SessionDep, principal: AdminUser, code: str, name: FormStr = ""):
    service.get_donor(session, code)  # an unknown donor is a 404, not a form error
    try:
        service.rename_donor(session, code, name, actor_id=principal.id)
    except Invalid as exc:
        return _reference_error(request, session, f"donor:{code}", exc, {"name": name})
    return _redirect(request, "admin_reference", "donor-renamed", "donors")


@router.post("/admin/reference/countries/{iso3}")
def set_country_subregion(request: Request, session: SessionDep, principal: AdminUser, iso3: str,
                          subregion_code: FormStr = ""):
    service.get_country(session, iso3)
    try:
        service.set_country_subregion(session, iso3, subregion_code, actor_id=principal.id)
    except Invalid as exc:
        return _reference_error(request, session, f"country:{iso3}", exc, {"subregion_code": subregion_code})
    return _redirect(request, "admin_reference", "country-saved", "countries")


@router.post("/admin/reference/standard-indicators")
def add_standard_indicator(
    request: Request,
    session: SessionDep,
    principal: AdminUser,
    code: FormStr = "",
    priority_code: FormStr = "",
    statement: FormStr = "",
    measure: FormStr = "",
    aggregation: FormStr = "",
    disaggregation: FormStr = "none",
):
    values = {"code": code, "priority_code": priority_code, "statement": statement, "measure": measure,
              "aggregation": aggregation, "disaggregation": disaggregation}
    try:
        data = StandardIndicatorCreate(**values)
        service.upsert_standard_indicator(session, data.code, data, priority_code=data.priority_code, create=True,
                                          actor_id=principal.id)
    except ValidationError as exc:
        return _reference_error(request, session, "indicator_new", exc, values, StandardIndicatorCreate)
    except (Invalid, Conflict) as exc:
        return _reference_error(request, session, "indicator_new", exc, values)
    return _redirect(request, "admin_reference", "indicator-added", "standard-indicators")


def _indicator_page(request: Request, session: Session, code: str, *, values: dict | None = None,
                    errors: dict | None = None, status_code: int = 200):
    indicator = service.get_standard_indicator(session, code)
    if values is None:
        values = {k: getattr(indicator, k) for k in ("statement", "measure", "aggregation", "disaggregation")}
    return render(request, "admin/standard_indicator.html", {
        **CHOICES, "indicator": indicator, "values": values, "errors": errors or {},
    }, status_code=status_code)


@router.get("/admin/reference/standard-indicators/{code}", name="admin_standard_indicator")
def standard_indicator_page(request: Request, session: SessionDep, _: AdminUser, code: str):
    return _indicator_page(request, session, code)


@router.post("/admin/reference/standard-indicators/{code}")
def update_standard_indicator(
    request: Request,
    session: SessionDep,
    principal: AdminUser,
    code: str,
    statement: FormStr = "",
    measure: FormStr = "",
    aggregation: FormStr = "",
    disaggregation: FormStr = "none",
):
    service.get_standard_indicator(session, code)
    values = {"statement": statement, "measure": measure, "aggregation": aggregation,
              "disaggregation": disaggregation}
    try:
        data = StandardIndicatorUpdate(**values)
        service.upsert_standard_indicator(session, code, data, actor_id=principal.id)
    except (ValidationError, Invalid, Conflict) as exc:
        session.rollback()
        errors = field_errors(exc, StandardIndicatorUpdate if isinstance(exc, ValidationError) else None)
        return _indicator_page(request, session, code, values=values, errors=errors, status_code=422)
    return _redirect(request, "admin_reference", "indicator-saved", "standard-indicators")


# --- reporting periods --------------------------------------------------------------------

def _periods_page(request: Request, session: Session, *, values: dict | None = None, errors: dict | None = None,
                  notice: str = "", status_code: int = 200):
    if values is None:
        code = service.next_quarter(session)
        start, end = service.quarter_bounds(code)
        values = {"code": code, "start_date": start.isoformat(), "end_date": end.isoformat(), "due_date": ""}
    return render(request, "admin/periods.html", {
        "periods": list(reversed(service.periods(session))), "values": values, "errors": errors or {},
        "notice": NOTICES.get(notice, ""), "due_days": service.DUE_AFTER_END.days,
    }, status_code=status_code)


@router.get("/admin/periods", name="admin_periods")
def periods_page(request: Request, session: SessionDep, _: AdminUser, notice: str = ""):
    return _periods_page(request, session, notice=notice)


@router.post("/admin/periods")
def add_period(
    request: Request,
    session: SessionDep,
    principal: AdminUser,
    code: FormStr = "",
    start_date: FormStr = "",
    end_date: FormStr = "",
    due_date: FormStr = "",
):
    values = {"code": code, "start_date": start_date, "end_date": end_date, "due_date": due_date}
    try:
        data = PeriodCreate(code=code.strip().upper(), **{k: v.strip() or None for k, v in values.items() if k != "code"})
        service.create_period(session, data, actor_id=principal.id)
    except (ValidationError, Invalid, Conflict) as exc:
        session.rollback()
        errors = field_errors(exc, PeriodCreate if isinstance(exc, ValidationError) else None)
        return _periods_page(request, session, values=values, errors=errors, status_code=422)
    return _redirect(request, "admin_periods", "period-added")


def _set_status(request: Request, session: Session, principal: Principal, code: str, status: PeriodStatus,
                reason: str):
    service.set_period_status(session, code, status.value, actor_id=principal.id, reason=reason.strip()[:500])
    return _redirect(request, "admin_periods", f"period-{'opened' if status == PeriodStatus.open else 'closed'}")


@router.post("/admin/periods/{code}/close")
def close_period(request: Request, session: SessionDep, principal: AdminUser, code: str, reason: FormStr = ""):
    return _set_status(request, session, principal, code, PeriodStatus.closed, reason)


@router.post("/admin/periods/{code}/open")
def open_period(request: Request, session: SessionDep, principal: AdminUser, code: str, reason: FormStr = ""):
    return _set_status(request, session, principal, code, PeriodStatus.open, reason)
