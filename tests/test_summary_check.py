"""`mne db rebuild-summaries --check`: compares the stored progress summaries with a
recomputation from scratch, reports what differs, and writes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from mne.db import engine_for
from mne.unit_of_work import UnitOfWork
from tests.command_line import mne
from tests.conftest import BACKENDS, fresh_database, pg_database_url
from tests.progress_world import build_spec_example, open_periods

CHECK = ["db", "rebuild-summaries", "--check"]


@pytest.fixture(scope="module", params=BACKENDS)
def worked_example(request, tmp_path_factory) -> str:
    """SPEC §5's worked example, written through the services (so the summaries are current)."""
    url = (f"sqlite:///{tmp_path_factory.mktemp('check') / 'check.db'}" if request.param == "sqlite"
           else pg_database_url("check"))
    fresh_database(url)
    with UnitOfWork(engine_for(url)) as session:
        open_periods(session, "2022Q1", "2022Q2", "2022Q3", "2022Q4")
        build_spec_example(session, "CHK")
        session.commit()
    yield url
    engine_for(url).dispose()


def run_sql(url: str, *statements: str) -> None:
    with engine_for(url).begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def scalar(url: str, query: str):
    with engine_for(url).connect() as conn:
        return conn.execute(text(query)).scalar_one()


def stored_rows(url: str) -> int:
    return scalar(url, "SELECT (SELECT count(*) FROM line_summary) + (SELECT count(*) FROM region_summary)"
                       " + (SELECT count(*) FROM project_summary)")


def test_equal_summaries_are_reported_equal(worked_example):
    lines = scalar(worked_example, "SELECT count(*) FROM indicator_target")
    periods = scalar(worked_example, "SELECT count(*) FROM period")
    # I1, I2, I3 in KGZ and S1 in SRB and XKX: five lines, a row each per period.
    assert lines == 5
    assert scalar(worked_example, "SELECT count(*) FROM line_summary") == 5 * periods
    done = mne(CHECK, worked_example)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert done.stdout.decode().strip() == f"summaries match ({stored_rows(worked_example)} rows compared)"


def test_hand_corrupted_rows_are_reported_and_left_as_they_are(worked_example):
    i1 = scalar(worked_example, "SELECT id FROM indicator WHERE code = 'I1'")
    project = scalar(worked_example, "SELECT id FROM project WHERE code = 'CHK-WB'")
    # I1 as of 2022Q2 is 120 of 400 with 1/3 of the time gone (SPEC §5): on track.
    assert scalar(worked_example, f"SELECT status FROM line_summary WHERE indicator_id = {i1} "
                                  "AND country_iso3 = 'KGZ' AND period_code = '2022Q2'") == "on_track"
    run_sql(worked_example,
            f"UPDATE line_summary SET status = 'off_track', actual = 7 WHERE indicator_id = {i1}"
            " AND country_iso3 = 'KGZ' AND period_code = '2022Q2'",
            "UPDATE region_summary SET lines = lines + 1 WHERE period_code = '2022Q3' AND priority_code = 'SP4'"
            " AND country_iso3 = 'XKX' AND standard_code = 'SP4.1'",
            f"DELETE FROM project_summary WHERE project_id = {project} AND period_code = '2022Q4'"
            " AND country_iso3 = 'SRB'")
    try:
        done = mne(CHECK, worked_example)
        out = done.stdout.decode().splitlines()
        assert done.returncode == 1, out
        assert out[:4] == [
            f"line_summary [{i1}, KGZ, 2022Q2] actual: stored 7.0, computed 120.0",
            f"line_summary [{i1}, KGZ, 2022Q2] status: stored 'off_track', computed 'on_track'",
            "region_summary [2022Q3, SP4, XKX, SP4.1] lines: stored 2, computed 1",
            f"project_summary [{project}, 2022Q4, SP4, SRB] (row): stored 'missing', computed 'present'",
        ]
        assert re.fullmatch(r"summaries differ: 4 difference\(s\) \(line_summary 2, region_summary 1, "
                            r"project_summary 1\) in \d+ rows compared; .*", out[4]), out[4]
        assert len(out) == 5
        # Nothing was rewritten: the corrupted row is still there.
        assert scalar(worked_example, f"SELECT status FROM line_summary WHERE indicator_id = {i1} "
                                      "AND country_iso3 = 'KGZ' AND period_code = '2022Q2'") == "off_track"
    finally:
        assert mne(["db", "rebuild-summaries"], worked_example).returncode == 0
    assert mne(CHECK, worked_example).returncode == 0


def test_many_differences_are_listed_twenty_at_most(worked_example):
    ids = "SELECT id FROM indicator WHERE code IN ('I1', 'I3')"  # both with a baseline of 0
    rows = scalar(worked_example, f"SELECT count(*) FROM line_summary WHERE indicator_id IN ({ids})")
    assert rows > 20
    run_sql(worked_example, f"UPDATE line_summary SET baseline = baseline + 1 WHERE indicator_id IN ({ids})")
    try:
        done = mne(CHECK, worked_example)
        out = done.stdout.decode().splitlines()
        assert done.returncode == 1
        assert len(out) == 21 and all(" baseline: stored 1.0, computed 0.0" in line for line in out[:20])
        assert out[20].startswith(f"summaries differ: {rows} difference(s) (line_summary {rows}) in ")
        assert out[20].split(";")[0].endswith(f", {rows - 20} not shown")
    finally:
        assert mne(["db", "rebuild-summaries"], worked_example).returncode == 0
