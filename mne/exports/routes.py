"""The export files over HTTP (SPEC §6): checked first, then streamed.

Every parameter is checked before the response starts, so a bad one is a 422 (or 403) with
the error envelope, never a file cut short.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from mne.deps import CurrentUser, SessionDep
from mne.errors import Invalid, NotFound, error_response, error_responses
from mne.exports import iati, iptt, results
from mne.exports import request as export_request
from mne.exports.request import IATI, IPTT, RESULTS, ExportRequest
from mne.exports.streaming import ExportSource, ExportTurn, download
from mne.filters import Filters, FiltersDep
from mne.progress.rules import STATUSES

router = APIRouter(prefix="/exports", tags=["exports"], responses=error_responses(401))

From = Annotated[str | None, Query(alias="from", description="first period of the range: YYYYQn, or YYYYSn / "
                                                             "YYYY for its first quarter")]
To = Annotated[str | None, Query(description="last period of the range: YYYYQn, or YYYYSn / YYYY for its last "
                                             "quarter")]
AsOf = Annotated[str | None, Query(description="period the progress figures are as of (default: `to`, else the "
                                               "latest period whose due date has passed)")]
IncludePending = Annotated[bool, Query(description="count submitted results too (provisional figures)")]
Bom = Annotated[bool, Query(description="start the file with a UTF-8 byte-order mark, so that Excel reads it "
                                        "as UTF-8 (default: true)")]


FILE_RESPONSES = {422: error_response(422, "a parameter is invalid (named in `details`); nothing was sent"),
                  403: error_response(403, "a filter is outside your countries, donors or projects"),
                  503: error_response(503, "every export stream of this worker is busy, or the database is")}


def asked(session, principal, kind: str, filters: Filters, period_from, to, as_of, include_pending,
          status) -> ExportRequest:
    return export_request.build(session.connection(), principal, kind, filters, period_from=period_from,
                                period_to=to, as_of=as_of, include_pending=include_pending, status=status)


@router.get("/results.csv", response_class=StreamingResponse, responses={
    200: {"content": {"text/csv": {}}, "description": "one row per result"}, **FILE_RESPONSES})
def results_csv(session: SessionDep, source: ExportSource, principal: CurrentUser, filters: FiltersDep,
                _stream: ExportTurn, period_from: From = None, to: To = None, include_pending: IncludePending = False,
                status: Annotated[str | None, Query(description="draft, submitted, approved, returned; "
                                                                 "comma-separated")] = None,
                bom: Bom = True):
    """Every result in your scope, one row each, in the columns of SPEC §6 (a donor viewer gets
    approved results only, and submitted ones too with `include_pending`)."""
    export = asked(session, principal, RESULTS, filters, period_from, to, None, include_pending, status)
    return download(source, export, "csv", lambda conn: results.csv_chunks(conn, export, bom=bom))


LineStatus = Annotated[str | None, Query(description=f"line statuses: {', '.join(STATUSES)}; comma-separated")]


@router.get("/iptt.csv", response_class=StreamingResponse, responses={
    200: {"content": {"text/csv": {}}, "description": "one row per indicator line"}, **FILE_RESPONSES})
def iptt_csv(session: SessionDep, source: ExportSource, principal: CurrentUser, filters: FiltersDep,
             _stream: ExportTurn, period_from: From = None, to: To = None, as_of: AsOf = None,
             include_pending: IncludePending = False, status: LineStatus = None, bom: Bom = True):
    """The Indicator Performance Tracking Table: per line its baseline and target, a target and
    an actual per period of the range, then actual to date, % of target and status as of `as_of`."""
    export = asked(session, principal, IPTT, filters, period_from, to, as_of, include_pending, status)
    return download(source, export, "csv", lambda conn: iptt.csv_chunks(conn, export, bom=bom))


@router.get("/iptt.xlsx", response_class=StreamingResponse, responses={
    200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
          "description": "the IPTT as a formatted workbook"}, **FILE_RESPONSES})
def iptt_xlsx(session: SessionDep, source: ExportSource, principal: CurrentUser, filters: FiltersDep,
              _stream: ExportTurn, period_from: From = None, to: To = None, as_of: AsOf = None,
              include_pending: IncludePending = False, status: LineStatus = None):
    """The IPTT as an Excel workbook: frozen headers, periods grouped, numbers and percentages
    formatted, and a second sheet saying what was exported, as of when, and when it was made."""
    export = asked(session, principal, IPTT, filters, period_from, to, as_of, include_pending, status)
    return download(source, export, "xlsx", lambda conn: iptt.xlsx_chunks(conn, export))


@router.get("/iati.xml", response_class=StreamingResponse, responses={
    200: {"content": {"application/xml": {}}, "description": "IATI 2.03 activities, one per project"},
    404: error_response(404, "no project in your scope matches the filters (an IATI file holds at least one "
                             "activity)"),
    **FILE_RESPONSES})
def iati_xml(request: Request, session: SessionDep, source: ExportSource, principal: CurrentUser,
             filters: FiltersDep, _stream: ExportTurn, period_from: From = None, to: To = None,
             include_pending: IncludePending = False):
    """The projects as IATI 2.03 activities (valid against the official schema): per project its
    organisations, status, dates and countries, and a result per indicator with, per indicator
    line, its baseline and per period of the range its target and actual (sex and age as
    `dimension`s). The reporting organisation is the settings' `iati_org_ref` / `iati_org_name`."""
    export = asked(session, principal, IATI, filters, period_from, to, None, include_pending, None)
    if iati.count(session.connection(), export) == 0:  # the schema wants at least one activity
        raise NotFound("no project in your scope matches these filters: an IATI file needs at least one activity")
    settings = request.app.state.settings
    org_ref, org_name = settings.iati_org_ref, settings.iati_org_name
    return download(source, export, "xml",
                    lambda conn: iati.xml_chunks(conn, export, org_ref=org_ref, org_name=org_name))


@router.get("/{filename}", responses={422: error_response(422, "there is no such export")})
def unknown_format(filename: str, principal: CurrentUser):
    """Any other file name: say which exports there are (routes above take precedence)."""
    raise Invalid.field("format", f"there is no export {filename!r}: use results.csv, iptt.csv, iptt.xlsx or iati.xml")
