"""The account's reminder setting: whether `mne remind` emails this user its digests (HTML)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from mne.base import Role
from mne.deps import CurrentUser, SessionDep
from mne.forms import refuse_nul
from mne.reminders import service
from mne.users import service as users
from mne.web import path_for, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_nul)])

# What a ticked box sends (browsers send "on"); an unticked box sends nothing at all.
TICKED = frozenset({"on", "1", "true", "yes"})
WHAT_YOU_GET = {
    "due": "A digest of the reports your countries owe: those due within the next 7 days and those overdue.",
    "review": "A digest of the results waiting for your review: how many, by country, and the oldest.",
}


def _page(request: Request, on: bool, *, notice: bool = False, error: str = "", status_code: int = 200):
    principal = request.state.principal
    kind = service.DIGEST_OF_ROLE.get(Role(principal.role))
    return render(request, "account/notifications.html", {
        "on": on, "saved": notice, "error": error, "what": WHAT_YOU_GET.get(kind, ""),
        "mail_configured": bool(request.app.state.settings.smtp_host),
    }, status_code=status_code)


@router.get("/account/notifications", name="notifications_page")
def notifications_page(request: Request, session: SessionDep, principal: CurrentUser, saved: str = ""):
    return _page(request, users.get_user(session, principal.id).email_digests, notice=saved == "1")


@router.post("/account/notifications")
def save_notifications(request: Request, session: SessionDep, principal: CurrentUser,
                       email_digests: Annotated[str, Form()] = ""):
    value = email_digests.strip().lower()
    if value and value not in TICKED:
        return _page(request, users.get_user(session, principal.id).email_digests, status_code=422,
                     error="Tick the box to get the digests, or leave it unticked to stop them.")
    service.set_email_digests(session, users.get_user(session, principal.id), bool(value), actor_id=principal.id)
    return RedirectResponse(f"{path_for(request, 'notifications_page')}?saved=1", status_code=303)
