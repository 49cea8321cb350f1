"""An export's bytes, from a generator over its own read-only transaction to an HTTP response.

The request's session (and its database turn) ends before the response starts, so the stream
reads through a connection of its own: one of the worker's ``export_streams`` turns, taken
before the response starts (503 when none frees up within ``db_timeout``) and given back when
the response has ended. The generator runs in the threadpool one chunk at a time, so the event
loop stays free; when the client goes away, the generator is closed at once — its cursor and
transaction with it — even though the request is being cancelled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Annotated
from urllib.parse import quote

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.engine import Connection, Engine

from mne.db import READ, for_access
from mne.deps import turn
from mne.exports.request import ExportRequest

Chunks = Callable[[Connection], Iterator[bytes]]
Source = Callable[[], AbstractContextManager[Connection]]


async def export_turn(request: Request) -> AsyncIterator[None]:
    """One of the worker's export streams, held until the response has been sent."""
    async with turn(request, request.app.state.export_turns, "the server is busy with other downloads: none ended"):
        yield


ExportTurn = Annotated[None, Depends(export_turn)]


def reading(engine: Engine) -> Source:
    """Connections in a read-only transaction of their own, from ``engine``'s pool."""
    @contextmanager
    def source() -> Iterator[Connection]:
        with for_access(engine, READ).connect() as conn, conn.begin():
            yield conn
    return source


def export_source(request: Request) -> Source:
    """Where an export's rows come from (the tests read through their own transaction)."""
    return reading(request.app.state.engine)


ExportSource = Annotated[Source, Depends(export_source)]


def produce(source: Source, chunks: Chunks) -> Iterator[bytes]:
    """The chunks, read in one transaction that ends with the generator."""
    with source() as conn:
        yield from chunks(conn)


async def _in_threads(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    try:
        while (chunk := await anyio.to_thread.run_sync(next, chunks, None)) is not None:
            if chunk:
                yield chunk
    finally:
        with anyio.CancelScope(shield=True):  # a cancelled download still closes its transaction
            await anyio.to_thread.run_sync(chunks.close)


MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "xml": "application/xml; charset=utf-8"}


def disposition(filename: str) -> str:
    return f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"


def download(source: Source, asked: ExportRequest, extension: str, chunks: Chunks) -> StreamingResponse:
    headers = {"Content-Disposition": disposition(asked.filename(extension)), "X-As-Of": asked.as_of.code,
               "Cache-Control": "no-store"}
    return StreamingResponse(_in_threads(produce(source, chunks)),
                             media_type=MEDIA_TYPES[extension], headers=headers)
