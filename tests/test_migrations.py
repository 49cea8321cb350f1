"""Migrations build the schema, agree with the models, and go down and up again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from mne import migrate
from mne.db import engine_for
from mne.models import metadata

from tests.conftest import BACKENDS, pg_database_url, reset_database


@pytest.fixture(params=BACKENDS)
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    url = pg_database_url("migrations")
    reset_database(url)
    migrate.downgrade(url, "base")
    return url


def _diff(url: str):
    with engine_for(url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, metadata)


def test_upgrade_empty_database_to_head(empty_url):
    migrate.upgrade(empty_url)
    tables = set(inspect(engine_for(empty_url)).get_table_names())
    assert set(metadata.tables) <= tables
    assert migrate.current_revision(empty_url) is not None


def test_models_and_migrations_agree(empty_url):
    migrate.upgrade(empty_url)
    assert _diff(empty_url) == []


def test_downgrade_to_base_and_upgrade_again(empty_url):
    migrate.upgrade(empty_url)
    migrate.downgrade(empty_url, "base")
    remaining = set(inspect(engine_for(empty_url)).get_table_names()) - {"alembic_version"}
    assert remaining == set()
    migrate.upgrade(empty_url)
    assert _diff(empty_url) == []


@pytest.fixture(params=BACKENDS)
def demo_url(request, tmp_path):
    """A database holding the demo data (scale 1), at head."""
    from tests.conftest import demo_database

    url = f"sqlite:///{tmp_path / 'demo.db'}" if request.param == "sqlite" else pg_database_url("migrations_demo")
    return demo_database(url, seed=5)


def test_rev2_migration_downgrades_and_upgrades_a_database_holding_the_demo_data(demo_url):
    """0003 (SPEC rev. 2) on real data: down to 0002 and up again keeps every row, gives the
    old rows what they meant (quarterly, no opening actual, first submission = submission),
    and leaves the summaries for `mne db upgrade` to compute."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from mne.progress import snapshots

    tables = ("project", "indicator", "indicator_target", "period_target", "result", "audit_event")

    def counts() -> dict[str, int]:
        with engine_for(demo_url).connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}

    before = counts()
    assert before["result"] > 10_000
    migrate.downgrade(demo_url, "0002")
    columns = {c["name"] for c in inspect(engine_for(demo_url)).get_columns("result")}
    assert not {"numerator", "denominator", "first_submitted_at"} & columns
    assert counts() == before
    migrate.upgrade(demo_url)
    assert counts() == before and _diff(demo_url) == []
    with engine_for(demo_url).begin() as conn:
        assert conn.execute(text("SELECT DISTINCT reporting_frequency FROM indicator")).scalars().all() == ["quarterly"]
        assert conn.execute(text("SELECT count(*) FROM indicator_target WHERE opening_actual <> 0")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM result WHERE submitted_at IS NOT NULL AND "
                                 "(first_submitted_at IS NULL OR first_submitted_at <> submitted_at)")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM result WHERE numerator IS NOT NULL")).scalar_one() == 0
        assert snapshots.incomplete(conn)  # the reshaped summaries start empty...
        snapshots.rebuild_all(conn)
        assert not snapshots.incomplete(conn)  # ...and `mne db upgrade` fills them
    # The new columns' CHECKs hold on both databases (SQLite gets them inside ADD COLUMN).
    for statement in ("UPDATE indicator SET reporting_frequency = 'weekly'",
                      "UPDATE indicator_target SET opening_actual = -1",
                      "UPDATE result SET numerator = 5, denominator = 2",
                      "UPDATE result SET numerator = 1, denominator = 0",
                      "UPDATE result SET numerator = -1"):
        with pytest.raises(IntegrityError), engine_for(demo_url).begin() as conn:
            conn.execute(text(statement))
