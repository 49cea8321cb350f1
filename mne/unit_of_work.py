"""The transaction a request or a command runs in, and what it settles before it commits.

Some tables are derived from others: the progress summaries follow results, targets,
indicators, project dates and periods. A write service marks what it changed
(``mne.progress.snapshots.mark_*``); ``UnitOfWork.commit`` settles those marks first, in the
same transaction, so no commit leaves the summaries behind the rows they derive from. Every
session that writes — a request's (``mne.deps.get_session``), a command's (``mne.cli``), a
test's — is a ``UnitOfWork``; a plain ``Session`` would commit the marks unsettled.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlmodel import Session

from mne.db import for_access, get_engine
from mne.progress import snapshots


class UnitOfWork(Session):
    def commit(self) -> None:
        snapshots.settle(self)
        super().commit()

    def rollback(self) -> None:
        snapshots.forget(self)  # what the marks were about is undone too
        super().rollback()


@contextmanager
def session_scope(engine: Engine | None = None, access: str | None = None) -> Iterator[UnitOfWork]:
    """A unit of work committed on success and rolled back on any error."""
    with UnitOfWork(for_access(engine or get_engine(), access), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
