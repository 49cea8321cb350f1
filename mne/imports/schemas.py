"""What an import answers: counts by what each row does, and every problem by line and column."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ImportProblem(BaseModel):
    line: int = Field(description="the row as the spreadsheet numbers it (the header is row 1)")
    column: str = Field(description="the column's header as the file writes it; empty for the whole row")
    cell: str = Field(description="the cell, e.g. E7; empty for the whole row")
    message: str


class ImportCounts(BaseModel):
    create: int = Field(description="rows that create a draft")
    update: int = Field(description="rows that change a draft or a returned result")
    unchanged: int = Field(description="rows equal to the stored result, whatever its state")
    skipped: int = Field(description="rows with nothing filled in beyond the line and period (a template's "
                                     "untouched lines)")
    refused: int = Field(description="rows with a problem; while there is one, nothing is written")


class ImportReport(BaseModel):
    file: str
    format: str = Field(description="csv or xlsx")
    encoding: str = Field(description="the text encoding read (CSV)")
    delimiter: str = Field(description="the separator found (CSV): comma, semicolon or tab")
    dry_run: bool
    written: bool = Field(description="whether the rows were written (never partly)")
    rows: int
    counts: ImportCounts
    ignored_columns: list[str] = Field(description="columns of the file that the import does not read")
    problems: list[ImportProblem] = Field(description="every problem found, in file order")
    import_id: int | None = Field(default=None, description="the record of a written import")
