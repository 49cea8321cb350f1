"""Reference data API: `/api/v1/priorities | subregions | countries | periods | donors | standard-indicators`."""

from __future__ import annotations

from fastapi import APIRouter, status

from mne.deps import AdminUser, CurrentUser, SessionDep
from mne.errors import error_responses
from mne.reference import service
from mne.reference.schemas import (
    CountryRead,
    DonorCreate,
    DonorRead,
    PeriodRead,
    PeriodUpdate,
    PriorityRead,
    StandardIndicatorRead,
    SubregionRead,
)

router = APIRouter(prefix="/api/v1", tags=["reference data"], responses=error_responses(401, 422, 503))


@router.get("/priorities", response_model=list[PriorityRead])
def list_priorities(session: SessionDep, _: CurrentUser):
    return service.priorities(session)


@router.get("/subregions", response_model=list[SubregionRead])
def list_subregions(session: SessionDep, _: CurrentUser):
    return service.subregions(session)


@router.get("/countries", response_model=list[CountryRead])
def list_countries(session: SessionDep, _: CurrentUser):
    return service.countries(session)


@router.get("/periods", response_model=list[PeriodRead])
def list_periods(session: SessionDep, _: CurrentUser):
    return service.periods(session)


@router.patch("/periods/{code}", response_model=PeriodRead, responses=error_responses(403, 404, 409, 413))
def update_period(code: str, body: PeriodUpdate, session: SessionDep, user: AdminUser):
    return service.set_period_status(session, code, body.status, actor_id=user.id)


@router.get("/donors", response_model=list[DonorRead])
def list_donors(session: SessionDep, _: CurrentUser):
    return service.donors(session)


@router.post("/donors", response_model=DonorRead, status_code=status.HTTP_201_CREATED,
             responses=error_responses(403, 409, 413))
def create_donor(body: DonorCreate, session: SessionDep, user: AdminUser):
    return service.create_donor(session, body, actor_id=user.id)


@router.get("/standard-indicators", response_model=list[StandardIndicatorRead])
def list_standard_indicators(session: SessionDep, _: CurrentUser):
    return service.standard_indicators(session)
