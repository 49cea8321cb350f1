"""The landing page after sign-in: the strategy's priorities and the caller's scope."""

from __future__ import annotations

from fastapi import APIRouter, Request

from mne.deps import CurrentUser, SessionDep
from mne.reference import service as reference
from mne.web import render

router = APIRouter(include_in_schema=False)


@router.get("/", name="home")
def home(request: Request, session: SessionDep, principal: CurrentUser):
    countries = reference.countries(session)
    subregions = reference.subregions(session)
    names = {c.iso3: c for c in countries}
    scope = sorted(principal.countries) if principal.countries else []
    return render(request, "home.html", {
        "priorities": reference.priorities(session),
        "subregions": subregions,
        "countries": names,
        "scope_countries": [names[c] for c in scope if c in names],
        "scope_donors": sorted(principal.donors),
        "periods": reference.periods(session),
    })
