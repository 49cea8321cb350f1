"""The one rule for text typed by people, shared by every API schema and every form.

Control characters are never content: NUL cannot be stored by PostgreSQL (and SQLite would keep
it, so the two databases would differ), the others garble exports and screens. Lone surrogates
(`"\\ud800"` is valid JSON) cannot be encoded as UTF-8. Multi-line text (narratives, notes,
statements) keeps tab, line feed and carriage return; a single line (a title, a name, a code)
keeps none of them.

`line(n)` and `text(n)` are `str` types with that rule and a maximum length (SQLite does not
enforce VARCHAR lengths, so the schema must).
`clip` keeps what an error message echoes short.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

# C0 and C1 controls (Unicode category Cc) and surrogates (Cs).
_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_TEXT_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

ECHO_MAX = 200


def forbidden_character(value: str, *, multiline: bool = True) -> str | None:
    """The first character the rule refuses in `value`, written as an escape (`\\x00`), or None."""
    found = (_TEXT_FORBIDDEN if multiline else _LINE_FORBIDDEN).search(value)
    if found is None:
        return None
    return f"\\x{ord(found.group()):02x}" if ord(found.group()) < 0x100 else f"\\u{ord(found.group()):04x}"


def _message(char: str, multiline: bool) -> str:
    allowed = " (tabs and line breaks are allowed)" if multiline else ""
    return f"must not contain control characters such as {char}{allowed}"


def _checker(multiline: bool):
    def check(value: str) -> str:
        char = forbidden_character(value, multiline=multiline)
        if char:
            raise PydanticCustomError("control_character", _message(char, multiline))
        return value
    return check


def check(value: str, *, multiline: bool) -> str:
    """The rule for a value that no schema validates (a service's argument): raises ValueError."""
    char = forbidden_character(value, multiline=multiline)
    if char:
        raise ValueError(_message(char, multiline))
    return value


_LINE = AfterValidator(_checker(multiline=False))
_TEXT = AfterValidator(_checker(multiline=True))


def line(max_length: int, *, min_length: int | None = None, pattern: str | None = None):
    """A single line (a title, a name, a code) of at most `max_length` characters. The length is
    checked first, so a 100,000-character value costs one comparison."""
    return Annotated[str, StringConstraints(max_length=max_length, min_length=min_length, pattern=pattern), _LINE]


def text(max_length: int, *, min_length: int | None = None):
    """Multi-line text (a summary, a statement, a narrative, a note, a reason)."""
    return Annotated[str, StringConstraints(max_length=max_length, min_length=min_length), _TEXT]


def clip(value: object, limit: int = ECHO_MAX) -> str:
    """At most `limit` characters of `value` for an error message: inputs are never echoed whole."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- bodies -----------------------------------------------------------------------------------

# Unknown fields a body may name before it is refused whole: each unknown field is an error of
# its own, and pydantic reports 100,000 of them (1 MB of `{"k1": 1, …}`) in about 8 s on the
# event loop. A handful is a typo worth naming one by one; more is refused as one error.
MAX_UNKNOWN_FIELDS = 10


class InputModel(BaseModel):
    """The base of every schema that reads a request body: unknown fields are refused
    (`extra="forbid"`), and a body naming more than `MAX_UNKNOWN_FIELDS` of them in one error."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _few_unknown_fields(cls, data):
        if isinstance(data, dict) and len(data) > len(cls.model_fields):
            known = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
            unknown = [k for k in data if k not in known]
            if len(unknown) > MAX_UNKNOWN_FIELDS:
                raise PydanticCustomError("extra_forbidden", "{count} unknown fields, such as {example}",
                                          {"count": len(unknown), "example": clip(unknown[0], 40)})
        return data
