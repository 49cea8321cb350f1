"""What an evidence file is, decided from its bytes alone (never from its name or the browser's
claim), and which kinds are accepted: PDF, photos and scans, office documents, CSV and text.

`filetype` recognises the binary formats by their signatures. A zip container says little by
its first bytes, so office documents are checked by their parts (an .xlsx holds
`xl/workbook.xml`, an .odt names its type in `mimetype`); any other zip is refused, since it could
carry anything. Text must decode (UTF-8, or Windows-1252 as spreadsheets often save CSV) and hold
no NUL or other binary control bytes; text that starts with markup (HTML, SVG, XML) is refused:
a browser asked to show it could run its scripts.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import filetype

HEAD_BYTES = 8192  # what filetype looks at
TEXT_CHUNK = 1 << 16
CSV_SAMPLE_LINES = 20

PDF = "application/pdf"
IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/tiff", "image/heic"}
OLE_OFFICE = {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"}
OOXML = {
    # the part that only that kind of document has
    "word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/presentation.xml": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OPENDOCUMENT = {
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
# Every content type a stored file may have (text types carry a charset parameter too).
ACCEPTED_TYPES = (PDF, *sorted(IMAGES), *sorted(OLE_OFFICE), *OOXML.values(), *sorted(OPENDOCUMENT),
                  "text/csv", "text/plain")
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# What the upload form's `accept` attribute offers (a hint for the browser's file chooser only).
ACCEPT = (".pdf,.png,.jpg,.jpeg,.gif,.webp,.tif,.tiff,.heic,.doc,.docx,.xls,.xlsx,.ppt,.pptx,"
          ".odt,.ods,.odp,.csv,.txt")
ACCEPTED_IN_WORDS = ("PDF, images (PNG, JPEG, GIF, WebP, TIFF, HEIC), office documents (Word, Excel, "
                     "PowerPoint, OpenDocument), CSV or plain text")



class Refused(ValueError):
    """The file is of a kind that is not accepted; the message says what it seems to be."""


def sniff(path: Path) -> str:
    """The content type of the file at PATH; Refused when it is not an accepted kind."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    if not head:
        raise Refused("the file is empty")
    if head.startswith(ZIP_MAGIC):
        return _zipped_office(path)
    kind = filetype.guess(head)
    if kind is not None:
        if kind.mime == PDF or kind.mime in IMAGES:
            return kind.mime
        if kind.mime in OLE_OFFICE:
            return kind.mime
        raise Refused(f"it is {_article(kind.extension)} .{kind.extension} file, not one of the accepted kinds")
    if head.startswith(OLE_MAGIC):
        # Legacy Office files have no fixed signature beyond the container's; an installer
        # (.msi) and other OLE files share it.
        return _legacy_office(path)
    return _text(path)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _zipped_office(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size <= 100:
                    declared = archive.read(info).decode("ascii", "replace").strip()
                    if declared in OPENDOCUMENT:
                        return declared
            if "[Content_Types].xml" in names:
                for part, mime in OOXML.items():
                    if part in names:
                        return mime
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise Refused(f"it looks like a zip file but cannot be read ({exc})") from None
    raise Refused("it is a zip archive, not an office document: attach the files in it one by one")


def _legacy_office(path: Path) -> str:
    """Word 97–2003, Excel 97–2003 and PowerPoint 97–2003 name their main stream in the OLE
    directory, in UTF-16; an installer or another OLE file has none of these."""
    data = path.read_bytes() if path.stat().st_size <= 4 * HEAD_BYTES * 64 else _head_and_tail(path)
    for stream, mime in (("WordDocument", "application/msword"), ("Workbook", "application/vnd.ms-excel"),
                         ("Book", "application/vnd.ms-excel"),
                         ("PowerPoint Document", "application/vnd.ms-powerpoint")):
        if stream.encode("utf-16-le") + b"\x00\x00" in data:
            return mime
    raise Refused("it is an OLE container (such as an installer) but not a Word, Excel or PowerPoint file")


def _head_and_tail(path: Path) -> bytes:
    # The directory of a large OLE file may sit anywhere; its first and last megabytes hold it
    # in the files Office writes.
    size = 1 << 20
    with path.open("rb") as fh:
        head = fh.read(size)
        fh.seek(max(0, path.stat().st_size - size))
        return head + fh.read()


def _text(path: Path) -> str:
    encoding = "utf-8"
    first = b""
    decoder = _utf8()
    with path.open("rb") as fh:
        while chunk := fh.read(TEXT_CHUNK):
            if not first:
                first = chunk
            if chunk.translate(None, delete=_PRINTABLE):  # any byte left is a binary one
                raise Refused("it holds binary data: it is not text, and not one of the accepted kinds")
            if decoder is not None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    decoder, encoding = None, "windows-1252"
        if decoder is not None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                encoding = "windows-1252"
    sample = first.decode(encoding, "replace").lstrip("\ufeff \t\r\n")
    if sample.startswith("<"):
        raise Refused("it is markup (HTML, XML or SVG), which is not accepted: save it as PDF")
    kind = "text/csv" if _looks_like_csv(sample) else "text/plain"
    return f"{kind}; charset={encoding}"


# Bytes that occur in text: all but NUL and the other C0 controls (tab, line feed, form feed and
# carriage return excepted) and DEL.
_PRINTABLE = bytes(range(32, 127)) + bytes(range(128, 256)) + b"\t\n\x0c\r"


def _utf8():
    import codecs

    return codecs.getincrementaldecoder("utf-8")()


def _looks_like_csv(sample: str) -> bool:
    """At least two rows with the same number (two or more) of fields, separated by commas,
    semicolons or tabs (quoted fields may hold the separator)."""
    lines = [line for line in sample.splitlines()[:CSV_SAMPLE_LINES + 1] if line.strip()]
    if len(sample) >= TEXT_CHUNK and len(lines) > 1:
        lines = lines[:-1]  # the last may be cut off by the chunk's end
    if len(lines) < 2:
        return False
    for separator in (",", ";", "\t"):
        try:
            widths = {len(row) for row in csv.reader(lines, delimiter=separator, strict=True)}
        except csv.Error:
            continue
        if len(widths) == 1 and widths.pop() > 1:
            return True
    return False
