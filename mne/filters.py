"""The filters every list, roll-up and page takes (SPEC §6), parsed once and applied once.

One query parameter per dimension of `mne.dimensions` (priority, pillar, subregion, country,
donor, project, sdg, gcm, marker, office), each a comma-separated list of codes. Line-level
dimensions select by the indicator line's priority or country; project-level ones by the
project, its lead office or its tags.
"""

from __future__ import annotations

import inspect
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Query
from sqlalchemy import ColumnElement, and_, exists, true

from mne.dimensions import DIMENSIONS, LINE, LINE_COLUMNS, PROJECT
from mne.errors import Invalid
from mne.indicators.models import Indicator
from mne.projects.models import Project


class Filters:
    """The codes chosen per dimension; a dimension not chosen reads as ``()``."""

    __slots__ = ("_codes",)

    def __init__(self, **codes: tuple[str, ...] | list[str]) -> None:
        unknown = set(codes) - set(DIMENSIONS)
        if unknown:
            raise TypeError(f"no dimension {', '.join(sorted(unknown))}")
        self._codes = {name: tuple(codes[name]) for name in DIMENSIONS if codes.get(name)}
        for name, values in self._codes.items():  # from a query or a page's path alike
            if any(ch < " " for value in values for ch in value):
                # PostgreSQL cannot even compare a NUL: refuse it, naming the filter.
                raise Invalid.field(name, "contains a control character")

    def __getattr__(self, name: str) -> tuple[str, ...]:
        if name in DIMENSIONS:
            return self._codes.get(name, ())
        raise AttributeError(name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Filters) and self._codes == other._codes

    def __hash__(self) -> int:
        return hash(tuple(self._codes.items()))

    def __repr__(self) -> str:
        return f"Filters({', '.join(f'{k}={v!r}' for k, v in self._codes.items())})"

    @property
    def active(self) -> dict[str, tuple[str, ...]]:
        return dict(self._codes)

    def replace(self, **codes: tuple[str, ...]) -> Filters:
        """These filters with some dimensions set anew (a drill-down page's own)."""
        return Filters(**{**self._codes, **codes})

    def at(self, level: str) -> Filters:
        """Only the filters of one level (``dimensions.LINE`` or ``PROJECT``)."""
        return Filters(**{k: v for k, v in self._codes.items() if DIMENSIONS[k].level == level})

    def query_string(self) -> str:
        return urlencode({k: ",".join(v) for k, v in self._codes.items()})

    def line_clause(self, country_column, priority_column=None) -> ColumnElement[bool]:
        """A WHERE clause over `Indicator` + `Project` and a line's country column (and, when
        given, a column holding the line's priority in place of `Indicator.priority_code`)."""
        columns = {"priority_code": Indicator.priority_code if priority_column is None else priority_column,
                   "country_iso3": country_column}
        clauses = [DIMENSIONS[name].match(columns[DIMENSIONS[name].line_column], codes)
                   for name, codes in self.at(LINE)._codes.items()]
        return and_(*clauses, self.project_clause())

    def project_clause(self) -> ColumnElement[bool]:
        """A WHERE clause over `Project`: its code, lead office and tags."""
        clauses = [DIMENSIONS[name].project_match(codes) for name, codes in self.at(PROJECT)._codes.items()]
        return and_(*clauses) if clauses else true()

    def project_tag_clause(self) -> ColumnElement[bool]:
        """Line-level filters matched against a project's own countries and priorities (a
        project list shows a project tagged with a country before it has lines there)."""
        clauses = []
        for column_name, (tag, column) in LINE_COLUMNS.items():
            matches = [DIMENSIONS[name].match(column, codes) for name, codes in self.at(LINE)._codes.items()
                       if DIMENSIONS[name].line_column == column_name]
            if matches:  # one tag row meets them all: a country in that subregion
                clauses.append(exists().where(tag.project_id == Project.id, *matches))
        return and_(*clauses) if clauses else true()


def filters_dependency(**raw: str | None) -> Filters:
    return Filters(**{name: DIMENSIONS[name].parse(value) for name, value in raw.items()})


# One optional query parameter per dimension, described in the OpenAPI document by the registry.
filters_dependency.__signature__ = inspect.Signature([
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                      annotation=Annotated[str | None, Query(description=f"{d.description}; comma-separated")])
    for name, d in DIMENSIONS.items()
])

FiltersDep = Annotated[Filters, Depends(filters_dependency)]
