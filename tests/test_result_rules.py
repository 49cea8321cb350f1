"""Table tests of two rules the API and the pages share, hand-computed, no database, no HTTP:
why a result cannot change (`results.service.why_locked`) and which quarters a period code names
(`reference.periods.matching`)."""
from __future__ import annotations

from datetime import date

import pytest

from mne.errors import Invalid
from mne.progress.rules import PeriodInfo
from mne.reference.models import Period
from mne.reference.periods import matching
from mne.results.service import why_locked


@pytest.mark.parametrize("period_status, status, action, refused", [
    ("open", None, "edit", None),
    ("open", "draft", "edit", None),
    ("open", "returned", "submit", None),
    ("open", "submitted", "edit", ("conflict", "status")),
    ("open", "submitted", "approve", None),
    ("open", "submitted", "return", None),
    ("open", "approved", "edit", ("locked", "status")),
    ("open", "approved", "approve", ("locked", "status")),
    ("open", "approved", "reopen", None),
    ("closed", None, "edit", ("locked", "period")),
    ("closed", "draft", "submit", ("locked", "period")),
    ("closed", "submitted", "approve", ("locked", "period")),
    ("closed", "approved", "reopen", ("locked", "period")),
    ("closed", "approved", "edit", ("locked", "status")),  # the page says "approved" first
])
def test_why_a_result_cannot_change(period_status, status, action, refused):
    period = Period(code="2024Q1", start_date=date(2024, 1, 1), end_date=date(2024, 3, 31),
                    due_date=date(2024, 4, 30), status=period_status)
    refusal = why_locked(period, status, action)
    assert (refusal if refusal is None else (refusal.code, refusal.details[0]["field"])) == refused


QUARTERS = [PeriodInfo(f"{y}Q{q}", date(y, 3 * q - 2, 1), date(y, 3 * q, 28), date(y, 3 * q, 28))
            for y in (2022, 2023) for q in (1, 2, 3, 4)]


@pytest.mark.parametrize("value, codes", [
    ("2022Q3", ["2022Q3"]),
    (" 2022q3 ", ["2022Q3"]),
    ("2023S1", ["2023Q1", "2023Q2"]),
    ("2022S2", ["2022Q3", "2022Q4"]),
    ("2023", ["2023Q1", "2023Q2", "2023Q3", "2023Q4"]),
])
def test_a_period_code_names_its_quarters(value, codes):
    assert [p.code for p in matching(QUARTERS, value, field="period")] == codes


@pytest.mark.parametrize("value", ["", "2022Q5", "2022S3", "22", "Q3", "2024", "2024Q1"])
def test_a_code_naming_no_quarter_is_refused_on_its_field(value):
    with pytest.raises(Invalid) as refused:
        matching(QUARTERS, value, field="as_of")
    assert refused.value.details[0]["field"] == "as_of"


def test_late_flag_is_judged_by_the_first_submission():
    """Sent on time, returned and sent again after the due date: not late (as completeness)."""
    from datetime import UTC, date, datetime

    from mne.results.quality import flags_for

    def late(first: datetime | None) -> bool:
        flags = flags_for(value=1, earlier=[], measure="number", aggregation="sum", target=None,
                          first_submitted_at=first, due_date=date(2023, 1, 30))
        return any(f.code == "late" for f in flags)

    assert not late(datetime(2023, 1, 30, 18, tzinfo=UTC))  # the due date itself
    assert late(datetime(2023, 1, 31, 8, tzinfo=UTC))
    assert not late(None)  # never submitted
