"""The request body size limit, in one place for every route (API bodies and form posts).

A pure ASGI middleware: a body whose Content-Length is over the limit is refused before anything
reads it; a body sent without one (chunked) is counted as it streams, and refused as soon as it
passes the limit. Either way the answer is 413 `too_large` with the error envelope (API) or the
error page (a browser), built by the app's own error response. Starlette's `RequestBodyLimitMiddleware`
does the counting too, but answers plain text and signals through private exceptions.

Uploads of results (`import_paths`) have the larger `MNE_IMPORT_MAX_BYTES`, plus room for a
form's other fields; their routes also check the size themselves, with a more precise message.
So have uploads of evidence files (`file_paths`, a pattern: their paths hold a result's id) with
`MNE_MAX_FILE_BYTES`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mne.text import clip, forbidden_character

# A form's fields beside an uploaded file (as `mne.imports.routes.uploaded` allows).
FORM_ROOM = 64 * 1024


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the limit. An HTTPException, so a route
    or parser that meets it passes it on; whatever answer the app then starts, the middleware
    replaces it with its own 413."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="the request body is too large")


def mebibytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, import_max_bytes: int, import_paths: frozenset[str],
                 respond: Callable[[Request, int], Response | Awaitable[Response]],
                 file_max_bytes: int = 0, file_paths: re.Pattern[str] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.import_limit = import_max_bytes + FORM_ROOM
        self.import_paths = import_paths
        self.file_limit = file_max_bytes + FORM_ROOM
        self.file_paths = file_paths
        self.respond = respond  # (request, limit) -> the 413 answer

    def limit_for(self, scope: Scope) -> int:
        if scope["path"] in self.import_paths:
            return self.import_limit
        if self.file_paths is not None and self.file_paths.fullmatch(scope["path"]):
            return self.file_limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _content_length(scope["headers"])
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit)
            return

        received = 0
        exceeded = False
        started = False  # whether the app's answer has gone out
        replaced = False  # whether ours went out instead

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, replaced
            if replaced:
                return  # the rest of the app's own answer to an oversized body
            if exceeded and not started and message["type"] == "http.response.start":
                replaced = True
                await self._refuse(scope, receive, send, limit)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if started:
                raise
            if not replaced:
                await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = self.respond(Request(scope, receive), limit)
        if isinstance(response, Awaitable):
            response = await response
        response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)


def _content_length(headers: list[tuple[bytes, bytes]] | Mapping) -> int | None:
    for key, value in headers:
        if key.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


class ControlCharactersInAddress:
    """NUL or another control character in the path or a query parameter of an API request
    (`mne.text`'s rule, as the schemas apply it to bodies): 422 naming the parameter, before any
    route compares it in the database (PostgreSQL cannot). The pages check theirs where they
    can show the error beside the field (`mne.forms.refuse_nul`, the filter forms)."""

    def __init__(self, app: ASGIApp, *, prefix: str,
                 respond: Callable[[Request, str, str], Response]) -> None:
        self.app = app
        self.prefix = prefix
        self.respond = respond  # (request, field, character) -> the 422 answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            found = _control_in_address(scope)
            if found is not None:
                await self.respond(Request(scope, receive), *found)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _control_in_address(scope: Scope) -> tuple[str, str] | None:
    char = forbidden_character(scope["path"])
    if char:
        return "path", char
    # Decoded as Starlette decodes it for the routes.
    for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        char = forbidden_character(key) or forbidden_character(value)
        if char:
            return (clip(key, 60) if not forbidden_character(key) else "query"), char
    return None
