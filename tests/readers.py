"""Read export files back the way their users do: Python's csv, LibreOffice, openpyxl.

LibreOffice (Debian's `libreoffice-calc`) converts a CSV to xlsx headless, as a user opening it
would, and openpyxl reads the result: a cell that became a formula, a number that became text
or a name that lost its letters shows up there. Tests that need it skip with the reason when
it is not installed, except in CI (MNE_REQUIRE_LIBREOFFICE=1), where that is a failure.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
# The CSV import filter: comma, double quote, UTF-8 (76), from line 1, default column types,
# English (US) so that a dot is the decimal separator whatever the machine's locale.
CSV_FILTER = "44,34,76,1,,1033"


def csv_rows(content: bytes) -> list[dict[str, str]]:
    """Rows of a CSV file as Python's csv module reads it (the BOM, if any, is not a header)."""
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def require_libreoffice() -> str:
    if SOFFICE is None:
        if os.environ.get("MNE_REQUIRE_LIBREOFFICE"):
            pytest.fail("LibreOffice is required here (MNE_REQUIRE_LIBREOFFICE=1) but soffice is not installed")
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc); .ci/run installs it")
    return SOFFICE


def libreoffice_sheet(content: bytes, workdir: Path, name: str = "export.csv"):
    """The CSV as LibreOffice opens it, saved as xlsx and read back with openpyxl: the worksheet."""
    import openpyxl

    soffice = require_libreoffice()
    source = workdir / name
    source.write_bytes(content)
    profile = workdir / f"lo-profile-{uuid.uuid4().hex}"  # one profile per run: no lock shared with others
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--infilter=CSV:" + CSV_FILTER,
                    "--convert-to", "xlsx", "--outdir", str(workdir), str(source)],
                   check=True, capture_output=True, timeout=180)
    converted = source.with_suffix(".xlsx")
    assert converted.exists(), f"LibreOffice did not convert {source.name}"
    return openpyxl.load_workbook(converted).active


def libreoffice_saved(content: bytes, workdir: Path, name: str, convert_to: str, suffix: str) -> bytes:
    """The CSV as LibreOffice opens it and saves it again (``convert_to``: a target and its filter
    options, e.g. ``xlsx`` or ``csv:Text - txt - csv (StarCalc):59,34,34``): what a user sends back."""
    soffice = require_libreoffice()
    source = workdir / name
    source.write_bytes(content)
    out = workdir / f"saved-{uuid.uuid4().hex}"
    profile = workdir / f"lo-profile-{uuid.uuid4().hex}"
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--infilter=CSV:" + CSV_FILTER,
                    "--convert-to", convert_to, "--outdir", str(out), str(source)],
                   check=True, capture_output=True, timeout=180)
    converted = out / (source.stem + suffix)
    assert converted.exists(), f"LibreOffice did not convert {source.name}"
    return converted.read_bytes()


def workbook(content: bytes):
    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(content))
