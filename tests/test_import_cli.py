"""`mne import results` as a user meets it: the report as lines, every problem by line and
cell, exit 1 and nothing written when a row is refused, a progress bar on a terminal, and an
exported file imported back changing nothing."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import text

from mne.db import engine_for
from mne.unit_of_work import UnitOfWork
from tests import command_line, factories
from tests.command_line import on_a_terminal
from tests.conftest import BACKENDS, fresh_database, pg_database_url
from tests.progress_world import build_spec_example, build_spec_example_2, open_periods
from tests.readers import csv_rows

OFFICER = "officer@test.example"
HEADER = "project_code,indicator_code,country_iso3,period,value\n"


def mne(args: list[str], db_url: str, **kwargs) -> subprocess.CompletedProcess:
    return command_line.mne(args, db_url, text=True, **kwargs)


@pytest.fixture(scope="module", params=BACKENDS)
def db(request, tmp_path_factory):
    url = (f"sqlite:///{tmp_path_factory.mktemp('import-cli') / 'cli.db'}" if request.param == "sqlite"
           else pg_database_url("import_cli"))
    engine = engine_for(fresh_database(url))
    with UnitOfWork(engine, expire_on_commit=False) as session:
        open_periods(session, "2022Q1", "2022Q2", "2022Q3", "2022Q4")
        build_spec_example(session, "EX")
        build_spec_example_2(session)
        factories.user(session, "country_officer", countries=["KGZ"], email=OFFICER)
        factories.user(session, "country_officer", countries=["KGZ"], email="gone@test.example")
        factories.user(session, "regional_reviewer", email="reviewer@test.example")
        session.execute(text("UPDATE \"user\" SET is_active = false WHERE email = 'gone@test.example'"))
        session.commit()
    yield url
    engine.dispose()


def state(url: str) -> dict:
    """What an import may change: every result as stored, the audit trail, the summaries."""
    with engine_for(url).connect() as conn:
        return {
            "results": conn.execute(text("SELECT * FROM result ORDER BY id")).all(),
            "events": conn.execute(text("SELECT count(*) FROM audit_event")).scalar(),
            "imports": conn.execute(text("SELECT count(*) FROM result_import")).scalar(),
            "summaries": conn.execute(text("SELECT * FROM line_summary ORDER BY indicator_id, country_iso3, "
                                           "period_code")).all(),
        }


def stored(url: str, indicator: str, period: str) -> tuple | None:
    with engine_for(url).connect() as conn:
        return conn.execute(text(
            "SELECT r.value, r.status, u.email FROM result r JOIN indicator i ON i.id = r.indicator_id "
            "JOIN project p ON p.id = i.project_id JOIN \"user\" u ON u.id = r.created_by_id "
            "WHERE p.code = 'EX-KGZ' AND i.code = :i AND r.country_iso3 = 'KGZ' AND r.period_code = :p"),
            {"i": indicator, "p": period}).first()


def test_a_dry_run_reports_and_writes_nothing(db, tmp_path):
    file = tmp_path / "results.csv"
    file.write_text(HEADER + "EX-KGZ,I3,KGZ,2022Q1,5\nEX-KGZ,I1,KGZ,2022Q1,50\n")
    before = state(db)
    done = mne(["import", "results", str(file), "--as", OFFICER, "--dry-run"], db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "results.csv (CSV, utf-8, comma-separated): 1 row creates a draft and 1 is unchanged.",
        "dry run: nothing was written"]
    assert state(db) == before


def test_a_write_creates_drafts_as_the_officer(db, tmp_path):
    file = tmp_path / "results.csv"
    file.write_text(HEADER + "EX-KGZ,I3,KGZ,2022Q2,7\nEX-KGZ,I3,KGZ,2022Q3,9\n")
    done = mne(["import", "results", str(file), "--as", OFFICER], db)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "results.csv (CSV, utf-8, comma-separated): 2 rows create a draft."
    assert lines[-1].startswith("written: 2 results in one transaction (import ")
    assert stored(db, "I3", "2022Q2") == (7, "draft", OFFICER)
    assert stored(db, "I3", "2022Q3") == (9, "draft", OFFICER)
    with engine_for(db).connect() as conn:
        reasons = conn.execute(text("SELECT DISTINCT reason FROM audit_event WHERE action = 'result.create' "
                                    "AND reason LIKE 'imported from results.csv%'")).scalars().all()
    assert len(reasons) == 1  # one event per result, saying which import made it


def test_a_refused_row_exits_1_and_nothing_is_written(db, tmp_path):
    file = tmp_path / "results.csv"
    file.write_text(HEADER + "EX-KGZ,I3,KGZ,2022Q4,3\nEX-KGZ,I3,KGZ,2022Q1,x\nEX-KGZ,I9,KGZ,2022Q1,1\n")
    before = state(db)
    for dry_run in ([], ["--dry-run"]):
        done = mne(["import", "results", str(file), "--as", OFFICER, *dry_run], db)
        assert done.returncode == 1, done.stderr
        lines = done.stdout.splitlines()
        assert "line 3, column value (E3): 'x' is not a number" in lines
        assert "line 4, column indicator_code (B4): project EX-KGZ has no indicator 'I9'" in lines
        assert "nothing was written" in lines[-1] and "2 of 3 rows are refused" in lines[-1]
    assert done.stdout.splitlines()[0].endswith("1 row creates a draft and 2 are refused.")
    assert state(db) == before


@pytest.mark.parametrize("args, message", [
    ([], "--as: name the country officer"),
    (["--as", "nobody@test.example"], "no user with email nobody@test.example"),
    (["--as", "reviewer@test.example"], "reviewer@test.example is a regional reviewer, not a country officer"),
    (["--as", "gone@test.example"], "gone@test.example is inactive"),
    (["--as", OFFICER, "--encoding", "koi8"], "unknown encoding 'koi8'"),
])
def test_who_imports_is_a_country_officer(db, tmp_path, args, message):
    file = tmp_path / "results.csv"
    file.write_text(HEADER + "EX-KGZ,I3,KGZ,2022Q4,3\n")
    done = mne(["import", "results", str(file), *args], db)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"),
    (b"", "the file is empty"),
    (b"project,value\nEX-KGZ,1\n", "lacks the columns"),
])
def test_a_file_that_cannot_be_read_is_one_line(db, tmp_path, content, message):
    file = tmp_path / "results.csv"
    if content is not None:
        file.write_bytes(content)
    done = mne(["import", "results", str(file), "--as", OFFICER], db)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and message in lines[0], done.stderr


def test_a_progress_bar_on_a_terminal(db, tmp_path):
    file = tmp_path / "results.csv"
    file.write_text(HEADER + "".join(f"EX-KGZ,I2,KGZ,2022Q{q},{q}\n" for q in (1, 3)))
    done, shown = on_a_terminal(["import", "results", str(file), "--as", OFFICER, "--dry-run"], db)
    assert done.returncode == 0
    assert b"checking rows" in shown and b"2/2" in shown


def test_an_exported_file_imports_back_unchanged(db, tmp_path):
    """The officer's export, every state included (approved, submitted, returned, drafts),
    imported as it is: every row unchanged, and nothing in the database moves."""
    out = tmp_path / "results.csv"
    exported = mne(["export", "results", "--as", OFFICER, "-o", str(out)], db)
    assert exported.returncode == 0, exported.stderr
    rows = len(csv_rows(out.read_bytes()))
    assert rows >= 6
    before = state(db)
    done = mne(["import", "results", str(out), "--as", OFFICER], db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"results.csv (CSV, utf-8, comma-separated): {rows} rows are unchanged."
    assert done.stdout.splitlines()[-1].startswith("written: 0 results")
    after = state(db)
    assert after["imports"] == before["imports"] + 1  # the file is kept as the record of the import
    assert {k: v for k, v in after.items() if k != "imports"} == {k: v for k, v in before.items() if k != "imports"}



def test_a_large_import_writes_what_row_statements_write(session, monkeypatch):
    """800 creates and their audit events: on PostgreSQL they go through COPY (ids drawn from the
    sequence first); what is stored equals what INSERT statements store (on SQLite both ways are
    INSERTs). Each way runs in a savepoint that is rolled back."""
    from sqlalchemy import select

    from mne import bulk
    from mne.audit.models import AuditEvent
    from mne.imports import results as import_results
    from mne.imports import sheets
    from mne.results.models import Result
    from tests.progress_world import principal_of

    countries = list(session.execute(text("SELECT iso3 FROM country ORDER BY iso3")).scalars())
    periods = list(session.execute(text("SELECT code FROM period ORDER BY start_date")).scalars())
    open_periods(session, *periods)
    project = factories.project(session, "BULK-1", countries=countries, start="2000-01-01", end="2099-12-31")
    for code in ("N1", "N2"):
        factories.indicator(session, project, code)
    user = factories.user(session, "country_officer", countries=countries)
    officer = principal_of(user, "country_officer", countries)
    content = HEADER + "".join(f"BULK-1,{code},{country},{period},{n}\n" for code in ("N1", "N2")
                               for n, (country, period) in enumerate((c, p) for c in countries for p in periods))
    sheet = sheets.read(content.encode(), max_rows=10_000)
    assert len(sheet.rows) >= bulk.COPY_FROM
    r, e = Result.__table__.c, AuditEvent.__table__.c
    results = (select(*[c for c in r if c.name not in ("id", "created_at", "updated_at")])
               .where(r.created_by_id == user.id).order_by(r.indicator_id, r.country_iso3, r.period_code))
    events = (select(r.indicator_id, r.country_iso3, r.period_code, r.id, e.action, e.actor_id, e.reason,
                     e.before.is_(None), e.after)
              .join(Result, r.id == e.entity_id.cast(r.id.type)).where(e.reason == "bulk")
              .order_by(r.indicator_id, r.country_iso3, r.period_code))

    def written(copy_from: int) -> tuple[list, list]:
        monkeypatch.setattr(bulk, "COPY_FROM", copy_from)
        with session.begin_nested() as savepoint:
            outcome = import_results.check(session, officer, sheet)
            assert outcome.count("create") == len(sheet.rows)
            import_results.write(session, officer, outcome, reason="bulk")
            stored = session.execute(results).all()
            trail = [(*row[:3], *row[4:8], row.after.pop("id") == row.id, row.after.pop("updated_at") is not None,
                      row.after) for row in session.execute(events)]
            savepoint.rollback()
        assert len(stored) == len(trail) == len(sheet.rows)
        return stored, trail

    assert written(bulk.COPY_FROM) == written(10**9)
