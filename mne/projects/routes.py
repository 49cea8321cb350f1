"""Projects API: `/api/v1/projects`, their indicators, and submitting a period at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from mne.auth import scope
from mne.deps import CurrentUser, EditorUser, PageNumber, SessionDep
from mne.errors import error_responses
from mne.filters import FiltersDep
from mne.indicators import service as indicators
from mne.indicators.schemas import IndicatorCreate, IndicatorRead
from mne.projects import service
from mne.projects.models import Project
from mne.projects.schemas import ProjectCreate, ProjectRead, ProjectUpdate
from mne.results import service as results
from mne.results.schemas import PeriodSubmit, SubmitSummary

router = APIRouter(prefix="/api/v1/projects", tags=["projects"], responses=error_responses(401, 422, 503))

# A project named in the path: unknown (404) or outside the caller's scope (403).
IN_SCOPE = error_responses(403, 404)
# What a write adds: a role or scope that may not (403), a conflict (409), a body too large (413).
WRITE = error_responses(403, 409, 413)


def current_project(code: str, session: SessionDep, principal: CurrentUser) -> Project:
    """The project named in the path: 404 when unknown, 403 outside the caller's scope."""
    return scope.get_project_by_code(session, principal, code)


CurrentProject = Annotated[Project, Depends(current_project)]


@router.get("", response_model=list[ProjectRead], responses=error_responses(403))
def list_projects(
    response: Response, session: SessionDep, principal: CurrentUser, filters: FiltersDep,
    q: Annotated[str, Query(max_length=200, description="search code and title")] = "",
    status_: Annotated[str | None, Query(alias="status", pattern="^(pipeline|active|closed)$")] = None,
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
):
    found = service.search(session, principal, q=q, filters=filters, status=status_, page=page, per_page=per_page)
    response.headers["X-Total-Count"] = str(found.total)
    return found.items


@router.post("", response_model=ProjectRead, status_code=status.HTTP_201_CREATED, responses=WRITE)
def create_project(body: ProjectCreate, session: SessionDep, principal: EditorUser):
    return service.create(session, principal, body)


@router.get("/{code}", response_model=ProjectRead, responses=IN_SCOPE)
def get_project(project: CurrentProject, session: SessionDep):
    return service.read(session, project)


@router.patch("/{code}", response_model=ProjectRead, responses={**IN_SCOPE, **WRITE})
def update_project(body: ProjectUpdate, project: CurrentProject, session: SessionDep, principal: EditorUser):
    return service.update(session, principal, project, body)


@router.get("/{code}/indicators", response_model=list[IndicatorRead], responses=IN_SCOPE)
def list_indicators(project: CurrentProject, session: SessionDep, principal: CurrentUser):
    return indicators.list_for_project(session, principal, project)


@router.post("/{code}/indicators", response_model=IndicatorRead, status_code=status.HTTP_201_CREATED,
             responses={**IN_SCOPE, **WRITE})
def create_indicator(body: IndicatorCreate, project: CurrentProject, session: SessionDep, principal: EditorUser):
    return indicators.create(session, principal, project, body)


@router.post("/{code}/submit", response_model=SubmitSummary, responses={**IN_SCOPE, **WRITE})
def submit_period(body: PeriodSubmit, project: CurrentProject, session: SessionDep, principal: EditorUser):
    """Submit all drafts (and corrected returned results) of one period of the project."""
    return results.submit_period(session, principal, project, body.period, body.country)
