"""The strategy page: its priorities, the countries by subregion and the reporting periods.

Signed-in users land on the dashboard (``/``, in ``mne.progress.pages``), which links here.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from mne.deps import CurrentUser, SessionDep
from mne.reference import service as reference
from mne.web import render

router = APIRouter(include_in_schema=False)


@router.get("/strategy", name="strategy")
def strategy(request: Request, session: SessionDep, principal: CurrentUser):
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
