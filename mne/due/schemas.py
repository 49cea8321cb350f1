"""JSON shape of `GET /api/v1/due` (issue 14 part 8), field for field."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from mne.due.rules import DueItem


class DueRead(BaseModel):
    """One indicator line whose result is due in the period, and where that result stands."""

    indicator_id: int
    indicator_code: str
    project_code: str
    country: str = Field(description="the line's country, ISO3")
    period: str
    due_date: date
    state: Literal["missing", "draft", "submitted", "returned", "approved"] = Field(
        description="the status of the line's result for the period, or missing when there is none")

    @classmethod
    def of(cls, item: DueItem) -> DueRead:
        return cls(indicator_id=item.indicator_id, indicator_code=item.indicator_code,
                   project_code=item.project_code, country=item.country, period=item.period,
                   due_date=item.due_date, state=item.state)
