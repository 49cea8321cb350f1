"""Migration 0006 carries every past return and reopen note over from the audit trail into the
conversation, so a database upgraded from 0005 keeps its conversations: each note becomes the
comment that opens its round, by its reviewer, at its time, in order."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import select

from mne import migrate
from mne.base import UTCDateTime
from mne.comments.models import ResultComment
from mne.db import engine_for
from mne.reference.seed import load_reference
from mne.unit_of_work import UnitOfWork
from tests.conftest import BACKENDS, pg_database_url, reset_database


@pytest.fixture(params=BACKENDS)
def url_at_0005(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'comments.db'}"
    else:
        url = pg_database_url("comments_migration")
        reset_database(url)
        migrate.downgrade(url, "base")
    migrate.upgrade(url, "0005")
    with UnitOfWork(engine_for(url)) as session:
        load_reference(session)
        session.commit()
    return url


# The tables as they stood at 0005 (the models describe head): only the columns written here.
def _table(name, *columns):
    return sa.table(name, *columns)


USER = _table("user", sa.column("id"), sa.column("email"), sa.column("name"), sa.column("role"),
              sa.column("password_hash"), sa.column("is_active"), sa.column("is_demo"),
              sa.column("created_at", UTCDateTime()))
PROJECT = _table("project", sa.column("id"), sa.column("code"), sa.column("title"), sa.column("summary"),
                 sa.column("start_date", sa.Date()), sa.column("end_date", sa.Date()), sa.column("status"),
                 sa.column("is_demo"), sa.column("created_at", UTCDateTime()), sa.column("updated_at", UTCDateTime()))
INDICATOR = _table("indicator", sa.column("id"), sa.column("project_id"), sa.column("code"), sa.column("statement"),
                   sa.column("level"), sa.column("priority_code"), sa.column("measure"), sa.column("aggregation"),
                   sa.column("direction"), sa.column("disaggregation"), sa.column("position"),
                   sa.column("created_at", UTCDateTime()), sa.column("updated_at", UTCDateTime()))
RESULT = _table("result", sa.column("id"), sa.column("indicator_id"), sa.column("country_iso3"),
                sa.column("period_code"), sa.column("value"), sa.column("narrative"),
                sa.column("means_of_verification"), sa.column("status"), sa.column("review_note"),
                sa.column("version"), sa.column("created_at", UTCDateTime()), sa.column("updated_at", UTCDateTime()))
AUDIT = _table("audit_event", sa.column("at", UTCDateTime()), sa.column("actor_id"), sa.column("action"),
               sa.column("entity"), sa.column("entity_id"), sa.column("reason"))


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2024, 5, day, hour, tzinfo=UTC)


def test_past_return_and_reopen_notes_become_the_comments_that_open_their_rounds(url_at_0005):
    engine = engine_for(url_at_0005)
    with engine.begin() as conn:
        conn.execute(sa.insert(USER), [
            dict(id=1, email="officer@old.example", name="Old Officer", role="country_officer", password_hash="x",
                 is_active=True, is_demo=False, created_at=at(1)),
            dict(id=2, email="reviewer@old.example", name="Old Reviewer", role="regional_reviewer",
                 password_hash="x", is_active=True, is_demo=False, created_at=at(1))])
        conn.execute(sa.insert(PROJECT).values(
            id=1, code="OLD-1", title="An old project", summary="", start_date=date(2024, 1, 1),
            end_date=date(2024, 12, 31), status="active", is_demo=False, created_at=at(1), updated_at=at(1)))
        conn.execute(sa.insert(INDICATOR).values(
            id=1, project_id=1, code="OC1", statement="People assisted", level="outcome", priority_code="SP1",
            measure="number", aggregation="sum", direction="increase", disaggregation="none", position=0,
            created_at=at(1), updated_at=at(1)))
        common = dict(indicator_id=1, country_iso3="KGZ", value=10, narrative="", means_of_verification="",
                      created_at=at(1), updated_at=at(9))
        conn.execute(sa.insert(RESULT), [
            dict(id=1, period_code="2024Q1", status="returned", review_note="The female count is still off.",
                 version=4, **common),
            dict(id=2, period_code="2024Q2", status="returned", review_note="The donor found a double count.",
                 version=3, **common),
            dict(id=3, period_code="2024Q3", status="submitted", review_note="", version=1, **common)])
        # Out of time order on purpose: the conversation follows the events' times.
        conn.execute(sa.insert(AUDIT), [
            dict(at=at(8), actor_id=2, action="result.return", entity="result", entity_id="1",
                 reason="The female count is still off."),
            dict(at=at(2), actor_id=1, action="result.submit", entity="result", entity_id="1", reason=""),
            dict(at=at(3), actor_id=2, action="result.return", entity="result", entity_id="1",
                 reason="Attach the attendance lists."),
            dict(at=at(4), actor_id=2, action="result.approve", entity="result", entity_id="2", reason=""),
            dict(at=at(5), actor_id=None, action="result.reopen", entity="result", entity_id="2",
                 reason="The donor found a double count."),
            # no note to keep, another entity, a result deleted since: nothing to carry over
            dict(at=at(6), actor_id=2, action="result.return", entity="result", entity_id="3", reason=""),
            dict(at=at(6), actor_id=2, action="result.return", entity="indicator", entity_id="1", reason="odd"),
            dict(at=at(7), actor_id=2, action="result.return", entity="result", entity_id="999",
                 reason="A note on a deleted result."),
        ])

    migrate.upgrade(url_at_0005)

    with UnitOfWork(engine) as session:
        rows = session.exec(select(ResultComment).order_by(
            ResultComment.result_id, ResultComment.created_at, ResultComment.id)).all()
        got = [(c.result_id, c.kind, c.text, c.author_id, c.created_at) for c in rows]
    assert got == [
        (1, "returned", "Attach the attendance lists.", 2, at(3)),
        (1, "returned", "The female count is still off.", 2, at(8)),
        (2, "reopened", "The donor found a double count.", None, at(5)),
    ]

    # And the API reads them back as the conversation's rounds.
    from mne.comments import service as comments

    with UnitOfWork(engine) as session:
        conversation = comments.comments_for(session, [1, 2, 3])
    assert [[c.text for c in r] for r in comments.rounds(conversation[1])] == [
        ["Attach the attendance lists."], ["The female count is still off."]]
    assert conversation[1][0].author == "Old Reviewer"
    assert conversation[2][0].author == "" and conversation[3] == []

    # Down and up again: the table goes and comes back, carried over the same way.
    migrate.downgrade(url_at_0005, "0005")
    assert "result_comment" not in sa.inspect(engine_for(url_at_0005)).get_table_names()
    migrate.upgrade(url_at_0005)
    with UnitOfWork(engine_for(url_at_0005)) as session:
        assert len(session.exec(select(ResultComment)).all()) == 3
