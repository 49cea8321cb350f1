"""Alembic environment: the URL comes from mne's settings (or a connection handed in)."""

from __future__ import annotations

from alembic import context

from mne.db import engine_for
from mne.config import get_settings
from mne.models import metadata

config = context.config


def run_migrations_online() -> None:
    # Tests and `mne db upgrade` may hand over a connection; otherwise use the settings' URL.
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.attributes.get("url") or get_settings().database_url
        with engine_for(url).connect() as connection:
            _run(connection)
            connection.commit()
    else:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite can only ALTER tables by copying them
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
