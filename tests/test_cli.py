"""The command line as a user meets it: one-line errors, non-zero exits, tokens on the last line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from tests import factories


def mne(args: list[str], db_url: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "MNE_DATABASE_URL": db_url, **(env or {})}
    return subprocess.run([sys.executable, "-m", "mne.cli", *args], input=stdin, capture_output=True,
                          text=True, env=environment, timeout=120)


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'cli.db'}"
    assert mne(["db", "upgrade"], url).returncode == 0
    first = mne(["seed", "reference"], url)
    assert first.returncode == 0 and "country: +20" in first.stdout
    return url


def test_seed_reference_is_idempotent(cli_db):
    again = mne(["seed", "reference"], cli_db)
    assert again.returncode == 0 and "+1" not in again.stdout and "~1" not in again.stdout


def test_user_add_token_create_and_revoke(cli_db):
    added = mne(["user", "add", "cli.admin@test.example", "--role", "admin", "--password-stdin"], cli_db,
                stdin=factories.PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    token = mne(["token", "create", "cli.admin@test.example"], cli_db)
    assert token.returncode == 0
    secret = token.stdout.strip().splitlines()[-1]
    assert secret.startswith("mne_") and " " not in secret
    revoked = mne(["token", "revoke", "cli.admin@test.example"], cli_db)
    assert revoked.returncode == 0 and "revoked 1" in revoked.stdout


@pytest.mark.parametrize("args, stdin, message", [
    (["user", "add", "x1@test.example", "--role", "boss", "--password-stdin"], factories.PASSWORD, "role"),
    (["user", "add", "x2@test.example", "--role", "country_officer", "--country", "ZZZ", "--password-stdin"], factories.PASSWORD, "ZZZ"),
    (["user", "add", "x3@test.example", "--role", "donor_viewer", "--donor", "NOPE", "--password-stdin"], factories.PASSWORD, "NOPE"),
    (["user", "add", "x4@test.example", "--role", "admin", "--password-stdin"], "short", "password"),
    (["user", "add", "x5@test.example", "--role", "admin", "--password-stdin"], "", "password"),
    (["user", "add", "not-an-email", "--role", "admin", "--password-stdin"], factories.PASSWORD, "email"),
    (["token", "create", "nobody@test.example"], "", "nobody@test.example"),
])
def test_bad_input_is_one_clear_line(cli_db, args, stdin, message):
    result = mne(args, cli_db, stdin=stdin + "\n")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_duplicate_user_is_refused(cli_db):
    args = ["user", "add", "dup@test.example", "--role", "regional_reviewer", "--password-stdin"]
    assert mne(args, cli_db, stdin=factories.PASSWORD + "\n").returncode == 0
    again = mne(args, cli_db, stdin=factories.PASSWORD + "\n")
    assert again.returncode != 0 and "already exists" in again.stderr and "Traceback" not in again.stderr


@pytest.mark.parametrize("url, message", [
    ("postgresql+psycopg://nobody@127.0.0.1:1/none", "cannot use the database"),
    ("mysql://x@y/z", "only sqlite and postgresql"),
    ("not a url", "not a database URL"),
])
def test_wrong_database_url(url, message):
    result = mne(["seed", "reference"], url)
    assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr


def test_unmigrated_database_says_what_to_do(tmp_path):
    result = mne(["seed", "reference"], f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.returncode != 0 and "mne db upgrade" in result.stderr


def test_serve_refuses_without_a_secret(cli_db):
    result = mne(["serve"], cli_db, env={"MNE_SECRET_KEY": "", "MNE_DEMO": "0"})
    assert result.returncode != 0 and "MNE_SECRET_KEY" in result.stderr


def test_upgrade_fills_the_progress_summaries_a_migration_created(tmp_path):
    """Revision 0002 only creates the summary tables; `mne db upgrade` then computes them for
    the lines a database already holds (and says so), and a second upgrade has nothing to do."""
    from sqlalchemy import func, select
    from sqlmodel import Session

    from mne.db import engine_for
    from mne.progress.models import LineSummary
    from mne.reference.models import Period
    from mne.reference.seed import load_reference

    url = f"sqlite:///{tmp_path / 'old.db'}"
    assert mne(["db", "upgrade", "0001"], url).returncode == 0
    engine = engine_for(url)
    with Session(engine) as session:  # a database of before the summaries: nothing to mark
        load_reference(session)
        project = factories.project(session, "OLD-1", countries=("KGZ", "TJK"))
        indicator_id = _raw_indicator(session, project.id)
        for country in ("KGZ", "TJK"):  # the columns of 0001 only: today's models have more
            session.execute(text("INSERT INTO indicator_target (indicator_id, country_iso3, baseline, target) "
                                 "VALUES (:i, :c, 0, 100)"), {"i": indicator_id, "c": country})
        session.commit()
    upgraded = mne(["db", "upgrade"], url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "computing them" in upgraded.stdout and "rebuilt for 2 indicator lines" in upgraded.stdout
    with Session(engine) as session:
        periods = session.scalar(select(func.count()).select_from(Period))
        assert session.scalar(select(func.count()).select_from(LineSummary)) == 2 * periods > 0
    again = mne(["db", "upgrade"], url)
    assert again.returncode == 0 and "computing" not in again.stdout
    engine.dispose()


def _raw_indicator(session, project_id: int) -> int:
    """An indicator row as revision 0001 knew it (raw SQL: today's model has more columns)."""
    session.execute(text(
        "INSERT INTO indicator (project_id, code, statement, level, priority_code, measure, aggregation, direction, "
        "disaggregation, position, created_at, updated_at) VALUES (:p, 'OLD-I1', 'An indicator of before', "
        "'outcome', 'SP1', 'number', 'sum', 'increase', 'none', 0, '2020-01-01 00:00:00', '2020-01-01 00:00:00')"),
        {"p": project_id})
    return session.execute(text("SELECT id FROM indicator WHERE code = 'OLD-I1'")).scalar_one()
