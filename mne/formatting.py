"""How numbers and text are written for people: one function per kind, used by the templates
(as filters registered in `mne.web`) and by Python code that writes sentences."""

from __future__ import annotations


def num(value: float | None, decimals: int | None = None) -> str:
    """A number as a reader sees it: thousands separated, "—" when there is none.

    Whole numbers show no decimals. Others show `decimals` places when given (2 for an
    entered result, 0 for money); by default up to two, none from 1,000 up.
    """
    if value is None:
        return "—"
    if float(value).is_integer() or decimals == 0:
        return f"{value:,.0f}"
    if decimals is not None:
        return f"{value:,.{decimals}f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def pct(value: float | None, digits: int = 0) -> str:
    """A share (0.5) as a percentage ("50 %")."""
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def input_number(value: float | None) -> str:
    """A number as a form field shows it for editing: no separators, so it reads back as typed."""
    if value is None:
        return ""
    # 15 significant digits: every value a float holds as typed (`:g` keeps 6: 1,234,567 would
    # come back from an unchanged form as 1,234,570).
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.15g}"


def shorten_text(text: str, length: int = 90) -> str:
    """At most `length` characters, cut at a word, with an ellipsis."""
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0].rstrip(",;:") + "…"
