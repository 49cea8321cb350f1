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
