"""Where people find the donor exports: the exports page and the Download menus (SPEC §6).

``/exports`` is a plain GET form (bookmarkable, working without JavaScript; with htmx a change
re-renders only the form, and the address bar follows) to choose a file, its filters, its
periods and statuses. It checks the choice with ``mne.exports.request.build`` — the check the
file itself makes, so the page refuses, beside the field, exactly what the file would — and
says how many rows the file will hold, with a link to the file.

Every page that shows figures carries a Download menu (``templates/exports/_download_menu.html``)
whose links ``download_links`` builds from that page's own filters. The files and what each
takes are one registry, ``FORMATS``: the page, the menus and their tests iterate it. A file
whose route is not mounted (IATI XML while it is being written) is offered nowhere.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from sqlalchemy.engine import Connection

from mne.auth.principal import Principal
from mne.base import Role
from mne.deps import CurrentUser, SessionDep
from mne.dimensions import DIMENSIONS, FORM_DIMENSIONS
from mne.errors import Forbidden, Invalid
from mne.exports import request as export_request
from mne.exports.request import IATI, IPTT, RESULTS, STATUS_CHOICES, ExportRequest
from mne.filters import Filters
from mne.htmx import htmx
from mne.reference.periods import all_periods
from mne.web import STATUS_WORDS, path_if_any, render

router = APIRouter(include_in_schema=False)

# The parameters of a file besides the filters, in the order its URL shows them.
RANGE = ("from", "to")
PAGE_PARAMS = ("format", *RANGE, "as_of", "include_pending", "status")


@dataclass(frozen=True)
class Format:
    """One export file as the page and the menus offer it."""

    key: str  # the page's `format` value
    kind: str  # what `request.build` checks it as (results, iptt, iati)
    route: str  # name of the route serving the file; not mounted: not offered
    label: str
    extension: str
    description: str
    counter: str  # the module whose `count(conn, request)` says how many rows the file holds
    rows: tuple[str, str]  # a row of the file, in the singular and the plural
    params: tuple[str, ...]  # what the file takes besides the filters
    needs_rows: bool = False  # an empty file is refused (an IATI file holds at least one activity)

    @property
    def statuses(self) -> tuple[str, ...]:
        return tuple(str(s) for s in STATUS_CHOICES[self.kind])

    def count(self, conn: Connection, asked: ExportRequest) -> int | None:
        """The rows the file will hold; None when its module cannot say (yet)."""
        try:
            counter = getattr(importlib.import_module(self.counter), "count", None)
        except ImportError:
            return None
        return None if counter is None else counter(conn, asked)

    def rows_text(self, n: int) -> str:
        return f"{n:,} {self.rows[0] if n == 1 else self.rows[1]}"


FORMATS: tuple[Format, ...] = (
    Format("results_csv", RESULTS, "results_csv", "Results (CSV)", "csv",
           "Every result, one row each, with its project, indicator, country, period, value and status.",
           "mne.exports.results", ("result", "results"), (*RANGE, "include_pending", "status")),
    Format("iptt_csv", IPTT, "iptt_csv", "IPTT (CSV)", "csv",
           "The Indicator Performance Tracking Table: per indicator line its baseline and target, a target and an "
           "actual per period, and progress and status as of a period.",
           "mne.exports.iptt", ("indicator line", "indicator lines"), (*RANGE, "as_of", "include_pending", "status")),
    Format("iptt_xlsx", IPTT, "iptt_xlsx", "IPTT (Excel)", "xlsx",
           "The same table as a formatted Excel workbook, with a sheet saying what was exported and when.",
           "mne.exports.iptt", ("indicator line", "indicator lines"), (*RANGE, "as_of", "include_pending", "status")),
    Format("iati_xml", IATI, "iati_xml", "IATI XML", "xml",
           "The projects as IATI 2.03 activities with their results, for publishing to the IATI registry.",
           "mne.exports.iati", ("activity", "activities"), (*RANGE, "include_pending"), needs_rows=True),
)
BY_KEY = {f.key: f for f in FORMATS}
DEFAULT_FORMAT = "results_csv"
RESULT_STATUS_WORDS = {s: s for s in STATUS_CHOICES[RESULTS]}
# The status select's groups: (label, statuses, the kind of file they belong to).
STATUS_GROUPS = [("Result status (results file)", tuple(str(s) for s in STATUS_CHOICES[RESULTS]), RESULTS),
                 ("Line status (IPTT)", tuple(STATUS_CHOICES[IPTT]), IPTT)]


def available(request: Request) -> list[Format]:
    """The files this app serves (a route not mounted is not offered)."""
    return [f for f in FORMATS if path_if_any(request, f.route)]


def _text(value: Any) -> str:
    """A parameter as its URL writes it; "" leaves it out."""
    if value is None or value is False:
        return ""
    if value is True:
        return "true"
    if isinstance(value, tuple | list | set | frozenset):
        return ",".join(str(v) for v in value)
    return str(value).strip()


def _url(path: str, params: Mapping[str, str]) -> str:
    kept = {k: v for k, v in params.items() if v}
    return path + ("?" + urlencode(kept) if kept else "")


# --- the Download menus -------------------------------------------------------------------

@dataclass(frozen=True)
class Link:
    label: str
    href: str
    download: bool = True  # a file (the `download` attribute), not a page


@dataclass(frozen=True)
class DownloadMenu:
    files: list[Link]
    more: Link | None  # the exports page with the same choices
    chosen: list[str] = field(default_factory=list)  # what the links carry, in words

    def __iter__(self) -> Iterator[Link]:
        yield from self.files
        if self.more:
            yield self.more


def download_links(request: Request, filters: Filters | None = None, **extra: Any) -> DownloadMenu:
    """The Download menu of a page: each file with the page's filters — `filters`, and codes of
    any dimension given by name (``project="ECU-1"``) — and what else the page has: ``as_of``,
    ``include_pending``, ``from``/``to`` and ``status`` (a line status goes to the IPTT, a
    result status to the results file); then "More options…", the exports page with them all."""
    codes = dict((filters or Filters()).active)
    for name in [k for k in extra if k in DIMENSIONS]:
        value = extra.pop(name)
        parsed = DIMENSIONS[name].parse(value) if isinstance(value, str) else tuple(value or ())
        if parsed:
            codes[name] = parsed
    filters = Filters(**codes)
    unknown = set(extra) - set(PAGE_PARAMS)
    if unknown:
        raise TypeError(f"download_links takes no {', '.join(sorted(unknown))}")
    given = {k: _text(v) for k, v in extra.items()}
    dims = {k: ",".join(v) for k, v in filters.active.items()}
    statuses = [s for s in given.get("status", "").split(",") if s]
    files = []
    for f in available(request):
        params = dict(dims)
        for name in f.params:
            if name == "status":
                params[name] = ",".join(s for s in statuses if s in f.statuses)
            else:
                params[name] = given.get(name, "")
        files.append(Link(f.label, _url(path_if_any(request, f.route), params)))
    page = path_if_any(request, "exports_page")
    more = Link("More options…", _url(page, {**dims, **given}), download=False) if page else None
    chosen = [f"{DIMENSIONS[k].label}: {', '.join(v)}" for k, v in filters.active.items()]
    if given.get("as_of"):
        chosen.append(f"as of {given['as_of'].upper()}")
    if given.get("include_pending"):
        chosen.append("pending results included")
    if statuses:
        chosen.append("status " + ", ".join(STATUS_WORDS.get(s, s) for s in statuses))
    return DownloadMenu(files, more, chosen)


# --- the exports page ---------------------------------------------------------------------

def _pending(value: str | None) -> bool:
    """The checkbox, read leniently: absent or empty is no."""
    text = (value or "").strip().lower()
    if text in ("", "0", "false", "off", "no"):
        return False
    if text in ("1", "true", "on", "yes"):
        return True
    raise Invalid.field("include_pending", "say true or false")


def _refused(conn: Connection, principal: Principal, filters: Filters) -> str:
    """The filter a refusal (403) is about: the first that is refused on its own."""
    for name, codes in filters.active.items():
        try:
            export_request.check_filters(conn, principal, Filters(**{name: codes}))
        except Forbidden:
            return name
        except Invalid:
            continue
    return ""


def _scope_text(principal: Principal) -> str:
    if principal.region_wide:
        return "You can export the whole region."
    if principal.role == Role.country_officer:
        return "You can export the lines of your countries: " + (", ".join(sorted(principal.countries)) or "none") + "."
    return ("You can export the projects your donors fund (" + (", ".join(sorted(principal.donors)) or "none")
            + "): their approved results, and submitted ones too when you include pending results.")


@dataclass
class Outcome:
    """What the page says about the file chosen."""

    errors: dict[str, str] = field(default_factory=dict)  # field ("" for the form) -> message
    notes: dict[str, str] = field(default_factory=dict)
    status_code: int = 200
    asked: ExportRequest | None = None
    rows: int | None = None
    href: str = ""
    filename: str = ""


def _check(request: Request, session, principal: Principal, fmt: Format | None, raw: dict[str, str],
           values: dict[str, str]) -> tuple[Outcome, Filters]:
    out = Outcome()
    codes: dict[str, tuple[str, ...]] = {}
    for name, text in raw.items():
        try:
            codes[name] = DIMENSIONS[name].parse(text)
            Filters(**{name: codes[name]})  # refuses control characters
        except Invalid as exc:
            out.errors[name] = exc.details[0]["message"] if exc.details else exc.message
            codes.pop(name, None)
    filters = Filters(**codes)
    try:
        include_pending = _pending(values["include_pending"])
    except Invalid as exc:
        out.errors["include_pending"] = exc.details[0]["message"]
        include_pending = False
    if fmt is None:
        out.errors["format"] = "choose one of the files"
    if out.errors:
        out.status_code = 422
        return out, filters
    conn = session.connection()
    statuses = [s for s in values["status"].split(",") if s.strip()]
    other = [s for s in statuses if s not in fmt.statuses and any(s in f.statuses for f in FORMATS)]
    if other:  # a status of another file (a line's, for the results): left out, and said so
        out.notes["status"] = (f"{', '.join(STATUS_WORDS.get(s, s) for s in other)}: not a status the "
                               f"{fmt.label} takes; left out")
        statuses = [s for s in statuses if s not in other]
    values["status"] = ",".join(statuses)
    try:
        asked = export_request.build(conn, principal, fmt.kind, filters, period_from=values["from"] or None,
                                     period_to=values["to"] or None,
                                     as_of=values["as_of"] if "as_of" in fmt.params else None,
                                     include_pending=include_pending, status=values["status"] or None)
    except Invalid as exc:
        for detail in exc.details or [{"field": "", "message": exc.message}]:
            out.errors.setdefault(detail.get("field", ""), detail["message"])
        out.status_code = 422
        return out, filters
    except Forbidden as exc:
        out.errors[_refused(conn, principal, filters)] = exc.message
        out.status_code = 403
        return out, filters
    out.asked = asked
    out.rows = fmt.count(conn, asked)
    if out.rows == 0 and fmt.needs_rows:
        out.notes[""] = f"Nothing matches these choices, and an {fmt.label} file needs at least one {fmt.rows[0]}."
        return out, filters
    params = {**{k: ",".join(v) for k, v in filters.active.items()},
              **{k: ("true" if include_pending else "") if k == "include_pending" else values[k] for k in fmt.params}}
    out.href = _url(path_if_any(request, fmt.route), params)
    out.filename = asked.filename(fmt.extension)
    return out, filters


Period = Annotated[str | None, Query(alias="from")]


@router.get("/exports", name="exports_page")
def exports_page(request: Request, session: SessionDep, principal: CurrentUser,
                 format: str | None = None, period_from: Period = None, to: str | None = None,
                 as_of: str | None = None, include_pending: str | None = None, status: str | None = None):
    """Choose a file, its filters and periods; see how many rows it holds; download it."""
    formats = available(request)
    chosen = (format or "").strip() or DEFAULT_FORMAT
    fmt = next((f for f in formats if f.key == chosen), None)
    raw = {name: ",".join(v.strip() for v in request.query_params.getlist(name) if v.strip()) for name in DIMENSIONS}
    values = {"from": (period_from or "").strip(), "to": (to or "").strip(), "as_of": (as_of or "").strip(),
              "include_pending": (include_pending or "").strip(), "status": (status or "").strip()}
    outcome, filters = _check(request, session, principal, fmt, raw, values)
    periods = all_periods(session)
    here = path_if_any(request, "exports_page")
    context = {
        "formats": formats, "fmt": fmt, "chosen": chosen, "raw": raw, "values": values,
        "pending": values["include_pending"].lower() in ("1", "true", "on", "yes"),
        "outcome": outcome, "form_action": here, "scope_text": _scope_text(principal),
        "periods": periods, "dimensions": FORM_DIMENSIONS,
        "choices": {d.name: d.choices(session, principal) for d in FORM_DIMENSIONS},
        "more_dimensions": [d for d in DIMENSIONS.values() if d.form is None],
        "dimension_labels": {name: d.label for name, d in DIMENSIONS.items()},
        "status_words": {**RESULT_STATUS_WORDS, **STATUS_WORDS},
        # The chosen file's statuses first; a status of another file is left out (and said so).
        "status_groups": sorted(STATUS_GROUPS, key=lambda g: g[2] != (fmt.kind if fmt else RESULTS)),
        "donor_viewer": principal.role == Role.donor_viewer,
    }
    fragment = htmx(request).wants_fragment
    # A refusal is answered in the page, beside its field: with its status for a whole page, and
    # as a plain answer to htmx (which swaps only 2xx answers in).
    response = render(request, "exports/index.html", context, block="export_form",
                      status_code=200 if fragment else outcome.status_code)
    tidy = {"format": chosen if format else "", **{k: v for k, v in raw.items() if v}, **values}
    return htmx(request).push_url(response, _url(here, tidy))
