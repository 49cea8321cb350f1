"""HTML rendering shared by every page: the templates with all their globals and filters, links to
named routes, navigation, and fragment rendering."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from jinja2 import pass_context
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.responses import Response
from starlette.routing import NoMatchFound

from mne.base import Role
from mne.config import ROOT
from mne.formatting import num, pct, shorten_text
from mne.htmx import htmx
from mne.progress.rules import AT_RISK_MIN, GROUP_AT_RISK_MIN, GROUP_ON_TRACK_MIN, ON_TRACK_MIN, STATUSES
from mne.reference.schemas import KOSOVO_FOOTNOTE

FREQUENCY_WORDS = {"quarterly": "every quarter", "semiannual": "twice a year (Q2 and Q4)", "annual": "once a year (Q4)",
                   "endline": "once, in the period in which the project ends"}
STATUS_WORDS = {"on_track": "on track", "at_risk": "at risk", "off_track": "off track", "no_data": "no data",
                "not_started": "not started", "achieved": "achieved", "not_achieved": "not achieved"}


def path_for(request: Request, name: str, **params: Any) -> str:
    """A route's path (not an absolute URL: right behind any proxy). Starlette puts parameters
    into the path as given, so they are quoted here."""
    quoted = {k: quote(v, safe="") if isinstance(v, str) else v for k, v in params.items()}
    return request.app.url_path_for(name, **quoted)


def path_if_any(request: Request, name: str, **params: Any) -> str | None:
    """A route's path, or None while that page is not built (other issues add pages)."""
    try:
        return path_for(request, name, **params)
    except NoMatchFound:
        return None


def download_links(request: Request, filters=None, **extra: Any):
    """The links of a page's Download menu (`mne.exports.pages.download_links`, imported when
    called: that module renders its page through this one)."""
    from mne.exports.pages import download_links as links

    return links(request, filters, **extra)


def build_templates() -> Jinja2Blocks:
    """The templates with every global and filter the pages use: registered here, and only here."""
    templates = Jinja2Blocks(directory=str(ROOT / "templates"))
    templates.env.globals.update({
        "path_for": pass_context(lambda context, name, **params: path_for(context["request"], name, **params)),
        "path_if_any": pass_context(lambda context, name, **params: path_if_any(context["request"], name, **params)),
        "download_links": download_links,
        "KOSOVO_FOOTNOTE": KOSOVO_FOOTNOTE,
        "STATUSES": STATUSES,
        "STATUS_WORDS": STATUS_WORDS,
        "FREQUENCY_WORDS": FREQUENCY_WORDS,
        # The band thresholds as the pages print them (from the rules, never retyped).
        "BANDS": {"on_track": pct(ON_TRACK_MIN), "at_risk": pct(AT_RISK_MIN)},
        "GROUP_BANDS": {"on_track": pct(GROUP_ON_TRACK_MIN), "at_risk": pct(GROUP_AT_RISK_MIN)},
    })
    templates.env.filters.update({"num": num, "pct": pct, "shorten_text": shorten_text})
    return templates


templates = build_templates()

ALL = frozenset(Role)
# (label, route name, roles). An entry shows only when its route exists, so the menu never
# links a page that is not there.
NAVIGATION: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("My reporting", "my_reporting", frozenset({Role.country_officer})),
    ("Review overview", "review_overview", frozenset({Role.regional_reviewer, Role.admin})),
    ("Dashboard", "dashboard", ALL),
    ("Projects", "projects_page", frozenset({Role.country_officer, Role.regional_reviewer, Role.admin, Role.donor_viewer})),
    ("Review queue", "review_queue", frozenset({Role.regional_reviewer, Role.admin})),
    ("Import", "import_page", frozenset({Role.country_officer})),  # only officers log results
    ("Exports", "exports_page", ALL),
    ("Users", "admin_users", frozenset({Role.admin})),
    ("Periods", "admin_periods", frozenset({Role.admin})),
    ("Reference data", "admin_reference", frozenset({Role.admin})),
    ("API tokens", "tokens_page", ALL),
)


# Where sign-in lands each role when no page was asked for: an officer on what is due, a
# reviewer on what waits for review; the others on the dashboard.
HOMES = {Role.country_officer: "my_reporting", Role.regional_reviewer: "review_overview"}


def home_path(request: Request, role: Role) -> str:
    """The landing page of a role (the dashboard, ``/``, when its own page is not built)."""
    return (path_if_any(request, HOMES[role]) if role in HOMES else None) or "/"


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
    if block and htmx(request).wants_fragment:
        response = templates.TemplateResponse(request, template, ctx, block_name=block, status_code=status_code)
    else:
        response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    response.headers["Vary"] = "HX-Request"
    return response
