"""Audit history pages of a result and of a project."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlmodel import select

from mne.audit import service as audit
from mne.auth import scope
from mne.deps import CurrentUser, PathId, SessionDep
from mne.indicators.models import Indicator
from mne.results import service as results
from mne.results.models import Result
from mne.web import render

router = APIRouter(include_in_schema=False)


@router.get("/results/{result_id}/history", name="result_history_page")
def result_history_page(request: Request, result_id: PathId, session: SessionDep, principal: CurrentUser):
    result, indicator = results.get_result(session, principal, result_id)
    events = audit.history_of(session, {"result": [result_id]})
    return render(request, "audit/history.html", {
        "title": f"History of result {indicator.code} · {result.country_iso3} · {result.period_code}",
        "events": events,
    })


@router.get("/projects/{code}/history", name="project_history_page")
def project_history_page(request: Request, code: str, session: SessionDep, principal: CurrentUser):
    project = scope.get_project_by_code(session, principal, code)
    indicator_ids = list(session.exec(select(Indicator.id).where(Indicator.project_id == project.id)))
    result_query = select(Result.id).where(Result.indicator_id.in_(indicator_ids)) if indicator_ids else None
    result_ids = list(session.exec(result_query)) if result_query is not None else []
    if not principal.region_wide and principal.countries:
        # An officer reads results of its own countries only, history included.
        result_ids = list(session.exec(
            select(Result.id).where(Result.id.in_(result_ids), Result.country_iso3.in_(sorted(principal.countries)))
        )) if result_ids else []
    events = audit.history_of(session, {"project": [project.id], "indicator": indicator_ids, "result": result_ids})
    return render(request, "audit/history.html", {
        "title": f"History of project {project.code}", "events": events,
    })
