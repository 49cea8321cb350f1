"""Which reporting periods a query names: ``2022Q3`` a quarter, ``2022S1`` a half year, ``2022`` a
year (the quarters they cover), and the default when it names none.

The results list and the progress figures both resolve periods here, so they accept the same
codes and refuse the others in the same words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from mne.errors import Invalid
from mne.text import clip
from mne.progress.rules import PeriodInfo, default_as_of
from mne.reference.models import Period


def periods_of(conn: Connection) -> list[PeriodInfo]:
    """Every reporting period as the rules see it, oldest first."""
    p = Period.__table__.c
    return [PeriodInfo(code, start, end, due) for code, start, end, due in conn.execute(
        select(p.code, p.start_date, p.end_date, p.due_date).order_by(p.end_date, p.code))]


def all_periods(session: Session) -> list[PeriodInfo]:
    """Every reporting period, oldest first."""
    return periods_of(session.connection())


def default_period(periods: Sequence[PeriodInfo], today: date | None = None) -> PeriodInfo | None:
    """The default as-of period: the latest whose due date has passed (``rules.default_as_of``)."""
    return default_as_of(periods, today or date.today())


def matching(periods: Sequence[PeriodInfo], value: str, *, field: str) -> list[PeriodInfo]:
    """The quarters among ``periods`` that ``value`` names, in their order; 422 on ``field`` when none."""
    code = value.strip().upper()
    if re.fullmatch(r"\d{4}Q[1-4]", code):
        quarters = {code}
    elif m := re.fullmatch(r"(\d{4})S([12])", code):
        quarters = {m[1] + q for q in (("Q1", "Q2") if m[2] == "1" else ("Q3", "Q4"))}
    elif re.fullmatch(r"\d{4}", code):
        quarters = {p.code for p in periods if p.code.startswith(code)}
    else:
        raise Invalid.field(field, f"{clip(value, 40)!r} is not a period: write YYYYQn (e.g. 2022Q4), YYYYSn or YYYY")
    matched = [p for p in periods if p.code in quarters]
    if not matched:
        raise Invalid.field(field, f"no reporting period matches {clip(value, 40)!r}")
    return matched


def resolve_periods(session: Session, value: str | None, *, field: str) -> list[PeriodInfo]:
    """The quarters ``value`` names (default: the latest whose due date has passed)."""
    periods = all_periods(session)
    if value is None or not value.strip():
        chosen = default_period(periods)
        if chosen is None:
            raise Invalid.field(field, "there are no reporting periods yet")
        return [chosen]
    return matching(periods, value, field=field)


def resolve_as_of(session: Session, value: str | None) -> PeriodInfo:
    """The as-of period: a quarter, or the last quarter of a half year or year."""
    return resolve_periods(session, value, field="as_of")[-1]
