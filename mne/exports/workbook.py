"""The IPTT as an Excel workbook, written with XlsxWriter in constant-memory mode.

Constant-memory mode keeps one row in memory and flushes it to a temporary file when the next
row starts, so rows must be written top to bottom: the period headers are merged across
their two columns in the first row only, and column widths (known only once every row was
seen) are set at the end, which XlsxWriter allows because it assembles the sheet on close.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

import xlsxwriter

from mne.exports.iptt import LEADING, Line
from mne.exports.request import ExportRequest
from mne.reference.schemas import KOSOVO, KOSOVO_FOOTNOTE
from mne.web import STATUS_WORDS

HEADINGS = {"project_code": "Project", "project_title": "Project title", "indicator_code": "Indicator",
            "indicator": "Statement", "level": "Level", "measure": "Measure", "aggregation": "Aggregation",
            "direction": "Direction", "priority": "Priority", "country_iso3": "ISO3", "country": "Country",
            "baseline": "Baseline", "target": "Target (life of project)"}
TRAILING_HEADINGS = ("Actual to date", "% of target", "Status")
MAX_WIDTH = {"project_title": 40, "indicator": 60, "country": 24}


def write_iptt(out: IO[bytes], request: ExportRequest, lines: Iterable[Line]) -> int:
    """Write the workbook to ``out``; returns the number of lines written."""
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False, "strings_to_numbers": False})
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True, "valign": "top"})
    group = book.add_format({"bold": True, "align": "center", "bg_color": "#D5E0EA", "border": 1})
    plain = book.add_format({"valign": "top"})
    number = book.add_format({"num_format": "#,##0.##########", "valign": "top"})
    whole = book.add_format({"num_format": "#,##0", "valign": "top"})
    percent = book.add_format({"num_format": "0.0%", "valign": "top"})
    note = book.add_format({"italic": True, "font_color": "#444444"})

    sheet = book.add_worksheet("IPTT")
    periods = request.period_codes
    first_period = len(LEADING)
    trailing = first_period + 2 * len(periods)
    widths = [len(HEADINGS[c]) for c in LEADING] + [8] * (2 * len(periods)) + [len(h) for h in TRAILING_HEADINGS]

    # Row 0: each period over its two columns; row 1: the column headings.
    for n, period in enumerate(periods):
        col = first_period + 2 * n
        sheet.merge_range(0, col, 0, col + 1, period, group)
    for col, name in enumerate(LEADING):
        sheet.write_string(1, col, HEADINGS[name], bold)
    for n in range(len(periods)):
        sheet.write_string(1, first_period + 2 * n, "Target", bold)
        sheet.write_string(1, first_period + 2 * n + 1, "Actual", bold)
    for n, heading in enumerate(TRAILING_HEADINGS):
        sheet.write_string(1, trailing + n, heading, bold)

    def put_number(row: int, col: int, value: float | None) -> None:
        if value is None:
            return
        sheet.write_number(row, col, value, whole if float(value).is_integer() else number)
        widths[col] = max(widths[col], len(f"{value:,.2f}".rstrip("0").rstrip(".")))

    def put_text(row: int, col: int, value: str) -> None:
        if value:
            sheet.write_string(row, col, value, plain)
            widths[col] = max(widths[col], len(value))

    row = 2
    kosovo = False
    for line in lines:
        (pcode, title, icode, statement, level, measure, aggregation, direction, priority, cname, baseline,
         target) = line.leading
        kosovo = kosovo or line.country == KOSOVO
        for col, value in enumerate((pcode, title, icode, statement, level, measure, aggregation, direction,
                                     priority, line.country, cname + ("*" if line.country == KOSOVO else ""))):
            put_text(row, col, value)
        put_number(row, 11, baseline)
        put_number(row, 12, target)
        for n, period in enumerate(periods):
            put_number(row, first_period + 2 * n, line.targets.get(period))
            put_number(row, first_period + 2 * n + 1, line.actuals.get(period))
        put_number(row, trailing, line.actual)
        if line.progress is not None:
            sheet.write_number(row, trailing + 1, line.progress, percent)
        put_text(row, trailing + 2, STATUS_WORDS.get(line.status, line.status))
        row += 1
    written = row - 2
    if kosovo:
        sheet.write_string(row + 1, 0, f"* {KOSOVO_FOOTNOTE}", note)

    for col, width in enumerate(widths):
        name = LEADING[col] if col < len(LEADING) else ""
        sheet.set_column(col, col, min(width, MAX_WIDTH.get(name, 30)) + 2)
    sheet.freeze_panes(2, 3)
    if written:
        sheet.autofilter(1, 0, row - 1, trailing + 2)

    about = book.add_worksheet("About")
    about.write_string(0, 0, "Indicator Performance Tracking Table", bold)
    facts = [*request.described(), ("Lines", str(written)),
             ("Counted results", "approved and submitted (provisional)" if request.include_pending else "approved"),
             ("% of target", "actual to date against the life-of-project target, as the dashboard computes it "
                             "(progress rules: /help/progress)")]
    if kosovo:
        facts.append(("*", KOSOVO_FOOTNOTE))
    for n, (label, value) in enumerate(facts, start=2):
        about.write_string(n, 0, label, bold)
        about.write_string(n, 1, value)
    about.set_column(0, 0, 36)
    about.set_column(1, 1, 70)
    book.close()
    return written

