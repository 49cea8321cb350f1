"""Helpers of the HTML forms: errors beside their fields, ids, page numbers and versions from
requests, a safe page to return to, notices after a redirect.

A form page validates through the same service (and pydantic schema) as the API, then turns
the error details into `{field: sentence}` to show beside each field.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from mne.errors import DomainError, NotFound
from mne.text import clip, forbidden_character


def sentence(message: str) -> str:
    """'password is too common' -> 'Password is too common.'"""
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def _pydantic_message(error: dict, model: type[BaseModel] | None) -> str:
    kind = error.get("type", "")
    field = str(error["loc"][0]) if error.get("loc") else ""
    info = model.model_fields.get(field) if model is not None else None
    if kind == "missing" or (kind == "string_too_short" and error.get("ctx", {}).get("min_length") == 1):
        return "This is required."
    if kind == "string_pattern_mismatch" and info is not None and info.description:
        return sentence(f"use {info.description}")
    if kind == "enum":
        return sentence(f"choose {error.get('ctx', {}).get('expected', 'one of the listed values')}")
    if kind.startswith("date_"):
        return "Write a date as YYYY-MM-DD."
    if kind in ("float_parsing", "int_parsing", "float_type", "int_type", "finite_number"):
        return "Write a number."
    if kind == "too_short" and error.get("ctx", {}).get("min_length") == 1:
        return "Choose at least one."
    return sentence(error.get("msg", "invalid"))


def field_errors(exc: DomainError | ValidationError, model: type[BaseModel] | None = None,
                 *, nested: tuple[str, ...] = ()) -> dict[str, str]:
    """`{field: message}` from a service error or a schema's validation error.

    An error that names no field is filed under `""`, shown at the top of the form. Errors
    inside the repeatable fields named in `nested` keep their row: `targets.0.target`, as
    the services name them.
    """
    errors: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for error in exc.errors():
            loc = [str(p) for p in error.get("loc") or ()]
            field = loc[0] if loc else ""
            if field in nested and len(loc) > 1:
                field = ".".join(loc)
            errors.setdefault(field, _pydantic_message(error, model))
        return errors
    for detail in exc.details or []:
        if isinstance(detail, dict) and detail.get("message"):
            errors.setdefault(str(detail.get("field") or ""), sentence(str(detail["message"])))
    if not errors:
        errors[""] = sentence(exc.message)
    return errors


def place_errors(errors: dict[str, str], known) -> dict[str, str]:
    """Keep errors the form shows beside a field; file any other under `""` (top of the form)."""
    placed: dict[str, str] = {}
    loose: list[str] = []
    for field, message in errors.items():
        if field and known(field):
            placed[field] = message
        elif field:
            loose.append(f"{field.replace('_', ' ')}: {message}")
        else:
            loose.insert(0, message)
    if loose:
        placed[""] = " ".join(loose)
    return placed


def safe_next(target: str | None) -> str:
    """Only a local path: never an open redirect to another site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def parse_id(value: str, what: str) -> int:
    """A numeric id from a path; anything else is a page that does not exist (404)."""
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise NotFound(f"no {what} with id {value!r}")
    return int(value)


def parse_page(value: str) -> int:
    """A page number from a query; anything else is the first page."""
    return max(1, int(value)) if value.isascii() and value.isdigit() and len(value) < 7 else 1


def parse_version(form: FormData) -> int | None:
    """The version of a result a form was filled in against (its hidden field); None when absent
    or unreadable, and the service then acts on the version it holds."""
    text = str(form.get("version", "")).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


async def _form_data(request: Request) -> FormData:
    return await request.form()  # Starlette caches it: the CSRF check may have read it already


# A route's whole submitted form, for forms whose fields are not known in advance
# (a row per country, a cell per period).
FormDataDep = Annotated[FormData, Depends(_form_data)]


def _control(value: str) -> str | None:
    return forbidden_character(value, multiline=True)


async def refuse_nul(request: Request) -> None:
    """A NUL or other control character is never valid in a path, query or form field (PostgreSQL
    cannot store or compare NUL): refuse the request as bad input instead of failing in the
    database. The rule is the schemas' (`mne.text`); a textarea's tabs and line breaks pass."""
    if _control(request.scope.get("path", "")) or any(
            _control(k) or _control(v) for k, v in request.query_params.multi_items()):
        raise DomainError("the address contains a control character (such as NUL)", code="bad_request")
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        for key, value in (await request.form()).multi_items():
            char = _control(key) or (_control(value) if isinstance(value, str) else None)
            if char:
                field = clip(key, 60) if not _control(key) else ""
                raise DomainError(f"the form contains a control character ({char})",
                                  details=[{"field": field, "message": f"must not contain control characters such as {char}"}],
                                  code="bad_request")
