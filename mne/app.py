"""The FastAPI application: routers, error handlers, security headers, static files."""

from __future__ import annotations

import logging
import re
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from mne import __version__, home
from mne.audit import pages as audit_pages
from mne.auth import pages as auth_pages
from mne.comments import pages as comment_pages
from mne.comments import routes as comment_routes
from mne.config import Settings, get_settings
from mne.db import database_unreachable, engine_for
from mne.deps import Anyone, Public
from mne.due import pages as due_pages
from mne.due import routes as due_routes
from mne.errors import DomainError, Unauthorized, Unavailable, envelope
from mne.evidence import pages as evidence_pages
from mne.evidence import routes as evidence_routes
from mne.exports import pages as export_pages
from mne.exports import routes as export_routes
from mne.imports import pages as import_pages
from mne.imports import routes as import_routes
from mne.help import pages as help_pages
from mne.indicators import pages as indicator_pages
from mne.limits import BodySizeLimit, ControlCharactersInAddress, mebibytes
from mne.indicators import routes as indicator_routes
from mne.progress import pages as progress_pages
from mne.progress import routes as progress_routes
from mne.projects import pages as project_pages
from mne.projects import routes as project_routes
from mne.reference import pages as reference_pages
from mne.reference import routes as reference_routes
from mne.reminders import pages as reminder_pages
from mne.results import entry as result_entry
from mne.results import pages as result_pages
from mne.results import review as result_review
from mne.results import routes as result_routes
from mne.text import clip
from mne.users import pages as user_pages
from mne.web import path_for, render, templates

log = logging.getLogger("mne")

# The JSON API (/api/v1), in the order of its OpenAPI document. It is mounted before the pages,
# so a route name both share (create_project, return_result, …) names the API route.
API_ROUTERS = (
    reference_routes.router,
    project_routes.router,
    indicator_routes.router,
    result_routes.router,
    evidence_routes.router,
    comment_routes.router,
    progress_routes.router,
    due_routes.router,
)
# The HTML pages. Within a router, literal paths come before parameters (/projects/new before
# /projects/{code}); no path of one router matches another's.
PAGE_ROUTERS = (
    auth_pages.router,
    home.router,
    user_pages.router,
    reminder_pages.router,
    reference_pages.router,
    progress_pages.router,
    audit_pages.router,
    help_pages.router,
    export_routes.router,
    export_pages.router,
    import_routes.router,
    import_pages.router,
    project_pages.router,
    indicator_pages.router,
    due_pages.router,  # before result_pages: /review/overview is not a result of /review/{id}
    result_pages.router,
    result_review.router,  # the review queue
    result_entry.router,  # the period entry form
    evidence_pages.router,
    comment_pages.router,
)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'self'; "
    "object-src 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


IMPORT_API = frozenset({"/imports/results"})
# Where a results file is uploaded (the API, the import page): the larger MNE_IMPORT_MAX_BYTES.
IMPORT_UPLOADS = frozenset({"/imports/results", "/imports"})
# Where an evidence file is attached to a result (the API, the result page): MNE_MAX_FILE_BYTES.
FILE_UPLOADS = re.compile(r"(/api/v1)?/results/[^/]+/files")


def _wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/healthz")):
        return True
    # A file download asked for by a program gets the error envelope; a browser, a page.
    return (path.startswith("/exports/") or path in IMPORT_API) and "text/html" not in request.headers.get("accept", "")


def _error_response(request: Request, status: int, code: str, message: str, details=None, headers=None):
    if _wants_json(request):
        return JSONResponse(envelope(code, message, details), status_code=status, headers=headers)
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{path_for(request, 'login')}?next={target}", status_code=303)
    response = render(request, "error.html", {"status": status, "code": code, "message": message,
                                              "details": details or []}, status_code=status)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


# FastAPI's detail when reading a body fails with anything but a JSON syntax error.
UNPARSABLE_BODY = "There was an error parsing the body"

# What a validation error may echo: a field's name and message are clipped, and at most this many
# problems are listed (a body may hold thousands of unknown keys).
MAX_DETAILS = 20

# What a value the database refused means, by SQLSTATE class 22 code (PostgreSQL). The driver's
# own text is never shown: it may quote the value, the statement or its parameters.
DATA_ERRORS = {
    "22001": "a text is longer than its field allows",
    "22003": "a number is out of range",
    "22007": "a date or time is not valid",
    "22008": "a date or time is out of range",
    "22021": "a text holds a character the database cannot store (such as NUL)",
    "22P05": "a text holds a character the database cannot store (such as NUL)",
}


def _validation_details(errors: list[dict]) -> list[dict]:
    details = []
    for e in errors:
        loc = tuple(e.get("loc", ()))
        if e.get("type") == "json_invalid":  # FastAPI's JSON parser: the location is a character position
            reason = (e.get("ctx") or {}).get("error", "invalid")
            field, message = "body", f"not valid JSON: {reason} (at character {loc[-1] if loc else 0})"
        else:
            field, message = _field_name(loc), e.get("msg", "invalid")
        details.append({"field": clip(field, 100), "message": clip(message)})
    if len(details) > MAX_DETAILS:
        details = details[:MAX_DETAILS] + [{"field": "", "message": f"and {len(details) - MAX_DETAILS} more problems"}]
    return details


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):
        headers = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else None
        if isinstance(exc, Unauthorized) and _wants_json(request):
            headers = {"WWW-Authenticate": "Bearer"}
        return _error_response(request, exc.status_code, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        # Only pydantic's message, clipped, never the `input`: inputs are not echoed back whole.
        details = _validation_details(exc.errors())
        message = "; ".join(f"{d['field']}: {d['message']}" if d["field"] else d["message"]
                            for d in details) or "invalid request"
        return _error_response(request, 422, "invalid", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400 and exc.detail == UNPARSABLE_BODY:
            # FastAPI's answer when the JSON parser fails other than on syntax: bytes that are not
            # UTF-8, or nesting deeper than Python's recursion limit. Bad input, like a syntax error.
            return _error_response(request, 422, "invalid", "body: not valid JSON (not UTF-8, or nested too deeply)",
                                   [{"field": "body", "message": "not valid JSON (not UTF-8, or nested too deeply)"}])
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        return _error_response(request, exc.status_code, codes.get(exc.status_code, "http_error"),
                               str(exc.detail), None, getattr(exc, "headers", None))

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError):
        # Input the database refuses (a NUL character, an out-of-range number) is bad input. The
        # schemas refuse such values first; this is the last guard. Logged for the operator only.
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path,
                    clip(str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__))
        reason = DATA_ERRORS.get(getattr(exc.orig, "sqlstate", None) or "", "a value is not valid")
        return _error_response(request, 422, "invalid", f"the database refused a value: {reason}")

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError):
        # Two writers raced past the same check (e.g. a duplicate code): the later one conflicts.
        return _error_response(request, 409, "conflict", "this conflicts with data saved at the same moment; reload and try again")

    async def database_unavailable(request: Request, exc: OperationalError | PoolTimeout):
        # The database is unreachable (a connection refused or lost: wherever it happens, at the
        # session's start, in a dependency, on a page), or a wait ran out (no pooled connection,
        # SQLite's write lock, a lock or deadlock on PostgreSQL): the transaction did not commit;
        # trying again is the remedy. The driver's text (hosts, ports, files) is only logged.
        reason = str(exc.orig).strip().splitlines()[0] if getattr(exc, "orig", None) else type(exc).__name__
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, reason)
        state = "cannot be reached" if database_unreachable(exc) else "is busy"
        return await domain_error(request, Unavailable(f"the database {state}; nothing was saved; "
                                                       "try again in a moment"))

    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(PoolTimeout, database_unavailable)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error_response(request, 500, "internal", "an unexpected error occurred; it has been logged")


# Threads beyond the database turns: /healthz and static files never wait for a thread behind
# requests at the database (each of those uses one thread at a time).
SPARE_THREADS = 8


def threadpool_size(settings: Settings) -> int:
    return settings.db_pool_size + SPARE_THREADS


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Per event loop: the threadpool's size and the database turns, both from `db_pool_size`."""
    settings = app.state.settings
    anyio.to_thread.current_default_thread_limiter().total_tokens = threadpool_size(settings)
    app.state.db_turns = anyio.Semaphore(settings.db_pool_size)
    app.state.export_turns = anyio.Semaphore(settings.export_streams)
    yield


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.signing_secret()  # refuse to start without a usable secret
    app = FastAPI(
        lifespan=lifespan,
        title="mne",
        version=__version__,
        description="Monitoring-and-evaluation results tracker. Every call needs `Authorization: Bearer <token>` "
        "(create one with `mne token create EMAIL` or on the API tokens page).",
        openapi_url="/openapi.json",
        docs_url=None,  # served below from vendored Swagger UI, not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    # The pool holds a connection per database turn and per export stream (`mne.exports.streaming`).
    app.state.engine = engine_for(settings.database_url, settings.log_sql,
                                  pool_size=settings.db_pool_size + settings.export_streams,
                                  timeout=settings.db_timeout)

    def too_large(request: Request, limit: int):
        return _error_response(request, 413, "too_large", f"the request body is over the limit of {mebibytes(limit)}",
                               [{"field": "body", "message": f"at most {mebibytes(limit)}"}])

    # Added before the security headers, so it runs inside them: its 413 gets them too.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, import_max_bytes=settings.import_max_bytes,
                       import_paths=IMPORT_UPLOADS, respond=too_large,
                       file_max_bytes=settings.max_file_bytes, file_paths=FILE_UPLOADS)

    def control_character(request: Request, field: str, char: str):
        message = f"must not contain control characters such as {char}"
        return _error_response(request, 422, "invalid", f"{field}: {message}", [{"field": field, "message": message}])

    app.add_middleware(ControlCharactersInAddress, prefix="/api/", respond=control_character)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    install_error_handlers(app)
    for router in (*API_ROUTERS, *PAGE_ROUTERS):
        app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("mne", "static")]), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request, _: Public):
        return templates.TemplateResponse(request, "docs.html", {})

    @app.get("/healthz", tags=["operations"], responses={503: {
        "description": "The database cannot be reached (or no connection is free): the error envelope, "
                       "code `unavailable`."}})
    def healthz(_: Anyone):
        # No database turn: it must answer while every turn is taken (a reserved connection).
        # The pool pings a pooled connection before use, so a database that went away and came
        # back is found again here, without a restart.
        try:
            with app.state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (OperationalError, PoolTimeout) as exc:
            reason = str(exc.orig).strip().splitlines()[0] if getattr(exc, "orig", None) else type(exc).__name__
            log.warning("healthz: database unavailable: %s", reason)
            raise Unavailable("the database cannot be reached" if database_unreachable(exc)
                              else "the database is busy: no connection was free") from exc
        return {"status": "ok", "version": __version__}
    return app
