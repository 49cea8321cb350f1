"""HTML rendering shared by every page: templates, navigation, and fragment rendering."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.responses import Response
from starlette.routing import NoMatchFound

from mne.base import Role
from mne.config import ROOT
from mne.reference.schemas import KOSOVO_FOOTNOTE

templates = Jinja2Blocks(directory=str(ROOT / "templates"))
templates.env.globals["KOSOVO_FOOTNOTE"] = KOSOVO_FOOTNOTE

ALL = frozenset(Role)
# (label, route name, roles). An entry shows only when its route exists, so the menu never
# links a page that is not there.
NAVIGATION: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("Dashboard", "dashboard", ALL),
    ("Projects", "projects_page", frozenset({Role.country_officer, Role.regional_reviewer, Role.admin, Role.donor_viewer})),
    ("Review queue", "review_queue", frozenset({Role.regional_reviewer, Role.admin})),
    ("Import", "import_page", frozenset({Role.country_officer, Role.admin})),
    ("Exports", "exports_page", ALL),
    ("Users", "admin_users", frozenset({Role.admin})),
    ("Periods", "admin_periods", frozenset({Role.admin})),
    ("Reference data", "admin_reference", frozenset({Role.admin})),
    ("API tokens", "tokens_page", ALL),
)


def navigation(request: Request) -> list[dict[str, Any]]:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return []
    items = []
    for label, name, roles in NAVIGATION:
        if principal.role not in roles:
            continue
        try:
            path = request.app.url_path_for(name)
        except NoMatchFound:  # that page is not built (yet)
            continue
        items.append({"label": label, "url": path, "current": request.url.path == path})
    return items


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    block: str | None = None,
) -> Response:
    """Render a page, or only its `block` when htmx asks for a fragment."""
    ctx = {"request": request, "principal": getattr(request.state, "principal", None),
           "nav": navigation(request), **(context or {})}
    is_htmx = request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")
    if block and is_htmx:
        response = templates.TemplateResponse(request, template, ctx, block_name=block, status_code=status_code)
    else:
        response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    response.headers["Vary"] = "HX-Request"
    return response
