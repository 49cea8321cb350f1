"""Exports written to a file by the command line (``mne export``), with a progress bar.

The same request checks and the same renderings as the HTTP routes; the rows are counted first
so that the bar knows its end. A file is written beside its destination and renamed when
complete, so a failed export never leaves half a file under the name asked for.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlmodel import Session

from mne.auth.principal import Principal
from mne.base import Role
from mne.db import READ, for_access, get_engine
from mne.dimensions import DIMENSIONS
from mne.errors import Invalid, NotFound
from mne.exports import iptt, results
from mne.exports import request as export_request
from mne.filters import Filters
from mne.users import service as users

COMMAND_LINE = Principal(id=0, email="command line", name="command line", role=Role.admin)


def principal_for(session: Session, email: str | None) -> Principal:
    """Everything, or the scope of one user (``--as``): what that user would get from the site."""
    if email is None:
        return COMMAND_LINE
    user = users.get_user_by_email(session, email)
    countries, donors = users.user_scopes(session, user)
    return Principal(id=user.id, email=user.email, name=user.name, role=Role(user.role),
                     countries=frozenset(countries), donors=frozenset(donors))


def _renderer(kind: str, output: str):
    """(count, chunks, extension) of an export kind, by the output's extension for the IPTT."""
    suffix = Path(output).suffix.lower() if output != "-" else ""
    if kind == export_request.RESULTS:
        return results.count, results.csv_chunks, "csv"
    if kind == export_request.IPTT:
        if suffix == ".xlsx":
            return iptt.count, iptt.xlsx_chunks, "xlsx"
        return iptt.count, iptt.csv_chunks, "csv"
    from mne.config import get_settings
    from mne.exports import iati

    settings = get_settings()

    def xml(conn, asked, *, track):
        return iati.xml_chunks(conn, asked, org_ref=settings.iati_org_ref, org_name=settings.iati_org_name,
                               track=track)

    return iati.count, xml, "xml"


def export_to(kind: str, output: str, *, filters: dict[str, str | None], period_from: str | None = None,
              to: str | None = None, as_of: str | None = None, include_pending: bool = False,
              status: str | None = None, user: str | None = None) -> tuple[int, str]:
    """Write the export; returns how many rows (lines, activities) it holds and where it went."""
    chosen = Filters(**{name: DIMENSIONS[name].parse(value) for name, value in filters.items() if value})
    console = Console(stderr=True)
    with for_access(get_engine(), READ).connect() as conn, conn.begin():
        with Session(bind=conn) as session:
            principal = principal_for(session, user)
        asked = export_request.build(conn, principal, kind, chosen, period_from=period_from, period_to=to,
                                     as_of=as_of, include_pending=include_pending, status=status)
        count, chunks, extension = _renderer(kind, output)
        if output != "-" and Path(output).suffix.lower() not in ("", f".{extension}"):
            raise Invalid.field("output", f"a {kind} export is written as .{extension}")
        total = count(conn, asked)
        if kind == export_request.IATI and total == 0:  # the schema wants at least one activity
            raise NotFound("no project in this scope matches these filters: an IATI file needs at least one activity")
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, disable=not console.is_terminal, transient=False) as bar:
            task = bar.add_task(f"exporting {kind}", total=total)

            def track(items: Iterator) -> Iterator:
                for item in items:
                    yield item
                    bar.advance(task)

            data = chunks(conn, asked, track=track)
            if output == "-":
                for chunk in data:
                    sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
                return total, output
            target = Path(output)
            handle, partial = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".part")
            try:
                with os.fdopen(handle, "wb") as out:
                    for chunk in data:
                        out.write(chunk)
                os.replace(partial, target)
            except BaseException:
                Path(partial).unlink(missing_ok=True)
                raise
    return total, str(target)
