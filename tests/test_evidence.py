"""Evidence files through HTTP (issue 14, part 5): attach, list, download and remove through the
API and the result page; the kind judged by content, the size limit, scope and locks, equal files
stored once, and names with markup escaped. Each test has a files folder of its own."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import select

from mne.audit.models import AuditEvent
from mne.evidence import content, store
from mne.evidence.models import EvidenceFile
from mne.evidence.service import display_name
from mne.reference.models import Period
from tests import factories

KGZ_EMAIL = "evidence.kgz@test.example"

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CSV = b"name,village,signed\nAigul,Osh,yes\nBakyt,Naryn,no\n"
TEXT = b"Attendance was taken by the partner; the signed list follows by post.\n"
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(120)


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = zlib.compress(b"\x00\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        archive.writestr("docProps/app.xml", '<?xml version="1.0"?><Properties/>')
        archive.writestr("docProps/core.xml", '<?xml version="1.0"?><coreProperties/>')
        archive.writestr("word/_rels/document.xml.rels", '<?xml version="1.0"?><Relationships/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><document><body>Report</body></document>')
    return buffer.getvalue()


def xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["name", "signed"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def odt() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("setup.exe", b"MZ" + bytes(100))
    return buffer.getvalue()


def legacy_word() -> bytes:
    """An OLE2 container whose directory names a WordDocument stream, as Word 97–2003 writes."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1016) + "WordDocument".encode("utf-16-le") + bytes(600)


def installer() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1016) + "SummaryInformation".encode("utf-16-le") + bytes(600)


# --- the world ----------------------------------------------------------------------------

@contextmanager
def settings_of(app, **changes):
    """The app's settings with CHANGES for the while (app.state is no plain object to monkeypatch)."""
    saved = app.state.settings
    app.state.settings = saved.model_copy(update=changes)
    try:
        yield
    finally:
        app.state.settings = saved


@pytest.fixture
def files_dir(app, tmp_path) -> Iterator[Path]:
    """A files folder for this test alone (the app is shared by the whole session)."""
    folder = tmp_path / "files"
    with settings_of(app, files_dir=folder):
        yield folder


@pytest.fixture
def small_limit(app, files_dir) -> Iterator[int]:
    with settings_of(app, max_file_bytes=2048):
        yield 2048


@pytest.fixture
def world(session, files_dir):
    """A Kyrgyz–Tajik project: one Kyrgyz result in each state, a Tajik draft; a token per role."""
    proj = factories.project(session, "EV-1", countries=("KGZ", "TJK"), donors=("EVDONOR",),
                             start="2024-01-01", end="2025-12-31")
    ind = factories.indicator(session, proj, "EV1", targets={"KGZ": (0, 100), "TJK": (0, 100)})
    results = {status: factories.result(session, ind, "KGZ", period, 10, status=status).id
               for status, period in (("draft", "2024Q1"), ("submitted", "2024Q2"),
                                      ("approved", "2024Q3"), ("returned", "2024Q4"))}
    results["tjk"] = factories.result(session, ind, "TJK", "2024Q1", 5).id
    factories.user(session, "country_officer", countries=["KGZ"], email=KGZ_EMAIL)
    factories.donor(session, "EVOTHER")
    tokens = {
        "kgz": factories.token(session, "country_officer", countries=["KGZ"]),
        "tjk": factories.token(session, "country_officer", countries=["TJK"]),
        "reviewer": factories.token(session, "regional_reviewer"),
        "donor": factories.token(session, "donor_viewer", donors=["EVDONOR"]),
        "other_donor": factories.token(session, "donor_viewer", donors=["EVOTHER"]),
    }
    session.commit()
    return results, tokens


def upload(client, result_id: int, headers, data: bytes, name: str = "list.pdf", claimed: str = "application/pdf"):
    return client.post(f"/api/v1/results/{result_id}/files", headers=headers, files={"file": (name, data, claimed)})


def blobs(folder: Path) -> list[str]:
    return [sha for sha, _ in store.blobs(folder)]


def leftovers(folder: Path) -> list[Path]:
    """Anything in the files folder that is not a blob (a partial upload left behind)."""
    if not folder.exists():
        return []
    return [p for p in folder.rglob("*") if p.is_file() and not store.SHA256.fullmatch(p.name)]


def field_of(response) -> str:
    return response.json()["error"]["details"][0]["field"]


# --- attach, list, download, remove --------------------------------------------------------

def test_a_file_is_attached_listed_downloaded_and_removed(client, session, world, files_dir):
    results, tokens = world
    rid = results["draft"]
    # A PDF named .txt and claimed as text: the content decides.
    done = upload(client, rid, tokens["kgz"], PDF, name="attendance list.txt", claimed="text/plain")
    assert done.status_code == 201, done.text
    item = done.json()
    sha = hashlib.sha256(PDF).hexdigest()
    assert item["content_type"] == "application/pdf" and item["name"] == "attendance list.txt"
    assert item["size"] == len(PDF) and item["sha256"] == sha and item["uploaded_by"]
    assert (files_dir / sha[:2] / sha).read_bytes() == PDF and leftovers(files_dir) == []

    listed = client.get(f"/api/v1/results/{rid}/files", headers=tokens["reviewer"])
    assert listed.status_code == 200 and listed.json() == [item]
    assert set(item) == {"id", "result_id", "name", "size", "content_type", "sha256", "uploaded_by", "uploaded_at"}

    got = client.get(f"/api/v1/files/{item['id']}", headers=tokens["donor"])
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"] == \
        "attachment; filename=\"attendance list.txt\"; filename*=UTF-8''attendance%20list.txt"

    events = session.exec(select(AuditEvent).where(AuditEvent.entity == "result",
                                                   AuditEvent.entity_id == str(rid))).all()
    assert [e.action for e in events] == ["result.file_add"] and events[0].after["sha256"] == sha

    gone = client.delete(f"/api/v1/files/{item['id']}", headers=tokens["kgz"])
    assert gone.status_code == 204, gone.text
    assert client.get(f"/api/v1/results/{rid}/files", headers=tokens["kgz"]).json() == []
    assert client.get(f"/api/v1/files/{item['id']}", headers=tokens["kgz"]).status_code == 404
    assert blobs(files_dir) == []  # no row refers to it any more
    session.expire_all()
    actions = [e.action for e in session.exec(select(AuditEvent).where(
        AuditEvent.entity == "result", AuditEvent.entity_id == str(rid)).order_by(AuditEvent.id))]
    assert actions == ["result.file_add", "result.file_delete"]
    history = client.get(f"/api/v1/results/{rid}/history", headers=tokens["kgz"]).json()
    assert {"result.file_add", "result.file_delete"} <= {e["action"] for e in history}


def test_a_name_in_another_script_is_offered_as_utf8(client, world):
    results, tokens = world
    item = upload(client, results["draft"], tokens["kgz"], PDF, name="Отчёт 2024 «Ош».pdf").json()
    got = client.get(f"/api/v1/files/{item['id']}", headers=tokens["kgz"])
    disposition = got.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="') and "filename*=UTF-8''" in disposition
    assert disposition.split("filename*=UTF-8''")[1] == \
        "%D0%9E%D1%82%D1%87%D1%91%D1%82%202024%20%C2%AB%D0%9E%D1%88%C2%BB.pdf"


@pytest.mark.parametrize("data, name, kind", [
    (PDF, "report.txt", "application/pdf"),
    (png(), "photo.pdf", "image/png"),
    (docx(), "report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (xlsx(), "list.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (odt(), "report.odt", "application/vnd.oasis.opendocument.text"),
    (legacy_word(), "old.doc", "application/msword"),
    (CSV, "list.csv", "text/csv; charset=utf-8"),
    ("name;village\nÄlia;Osh\nBek;Naryn\n".encode("cp1252"), "excel.csv", "text/csv; charset=windows-1252"),
    (TEXT, "note.txt", "text/plain; charset=utf-8"),
])
def test_the_kind_is_decided_by_content(client, world, data, name, kind):
    results, tokens = world
    done = upload(client, results["draft"], tokens["kgz"], data, name=name, claimed="application/octet-stream")
    assert done.status_code == 201, done.text
    assert done.json()["content_type"] == kind


@pytest.mark.parametrize("data, name, says", [
    (HTML, "report.pdf", "markup"),
    (ELF, "report.pdf", ".elf file"),
    (b"MZ\x90\x00\x03" + bytes(200), "photo.jpg", ".exe file"),
    (plain_zip(), "report.docx", "zip archive"),
    (installer(), "report.doc", "OLE container"),
    (b"", "empty.pdf", "empty"),
    (b"id,name\n1,\x00bad\n", "list.csv", "binary"),
])
def test_other_kinds_are_refused_and_nothing_is_stored(client, session, world, files_dir, data, name, says):
    results, tokens = world
    done = upload(client, results["draft"], tokens["kgz"], data, name=name)
    assert done.status_code == 422, done.text
    error = done.json()["error"]
    assert error["details"][0]["field"] == "file" and says in error["message"], error
    assert "accepted are PDF" in error["message"]
    assert blobs(files_dir) == [] and leftovers(files_dir) == []
    assert session.exec(select(EvidenceFile)).all() == []


def test_a_file_over_the_limit_is_refused_with_the_limit_in_words(client, session, world, files_dir, small_limit):
    results, tokens = world
    big = CSV + b"x,y,z\n" * 400  # about 2.4 KB
    done = upload(client, results["draft"], tokens["kgz"], big, name="big.csv")
    assert done.status_code == 413, done.text
    assert field_of(done) == "file" and "over the limit of 2 KB" in done.json()["error"]["message"]
    assert blobs(files_dir) == [] and leftovers(files_dir) == []
    assert session.exec(select(EvidenceFile)).all() == []
    assert upload(client, results["draft"], tokens["kgz"], CSV, name="small.csv").status_code == 201


def test_the_body_limit_lets_uploads_through_up_to_the_file_limit(client, world, app):
    """Other bodies stop at MNE_MAX_BODY_BYTES (1 MB); a file upload may be as large as
    MNE_MAX_FILE_BYTES (20 MB by default) and the form around it."""
    results, tokens = world
    big = b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024)
    assert app.state.settings.max_body_bytes < len(big) < app.state.settings.max_file_bytes
    done = upload(client, results["draft"], tokens["kgz"], big, name="scan.pdf")
    assert done.status_code == 201, done.text
    assert done.json()["size"] == len(big)
    # The same body elsewhere is refused by the general limit.
    assert client.post(f"/api/v1/results/{results['draft']}/submit", headers=tokens["kgz"],
                       content=big).status_code == 413


def test_far_over_the_limit_the_body_is_refused_before_it_is_read(tmp_path, db_url):
    from fastapi.testclient import TestClient

    from mne.app import create_app
    from mne.config import Settings
    from tests.conftest import TEST_SECRET

    app = create_app(Settings(database_url=db_url, secret_key=TEST_SECRET, files_dir=tmp_path, max_file_bytes=4096))
    with TestClient(app, raise_server_exceptions=False) as c:
        done = c.post("/api/v1/results/1/files", files={"file": ("a.pdf", b"%PDF" + bytes(200_000), "application/pdf")},
                      headers={"Authorization": "Bearer nothing"})
    assert done.status_code == 413 and done.json()["error"]["code"] == "too_large"
    assert list(tmp_path.iterdir()) == []


def test_missing_or_unreadable_upload_names_the_file(client, world):
    results, tokens = world
    rid = results["draft"]
    no_file = client.post(f"/api/v1/results/{rid}/files", headers=tokens["kgz"], data={"other": "x"},
                          files={"attachment": ("a.pdf", PDF, "application/pdf")})
    assert no_file.status_code == 422 and field_of(no_file) == "file"
    raw = client.post(f"/api/v1/results/{rid}/files", headers={**tokens["kgz"], "Content-Type": "application/pdf"},
                      content=PDF)
    assert raw.status_code == 422 and field_of(raw) == "file"
    broken = client.post(f"/api/v1/results/{rid}/files",
                         headers={**tokens["kgz"], "Content-Type": "multipart/form-data; boundary=xyz"},
                         content=b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nab")
    assert broken.status_code == 422 and field_of(broken) == "file"
    assert client.post("/api/v1/results/999999/files", headers=tokens["kgz"],
                       files={"file": ("a.pdf", PDF, "application/pdf")}).status_code == 404


# --- scope and locks -----------------------------------------------------------------------

def test_another_countrys_officer_is_refused_everything(client, session, world, files_dir):
    results, tokens = world
    rid = results["draft"]
    item = upload(client, rid, tokens["kgz"], PDF).json()
    other = tokens["tjk"]
    assert client.get(f"/api/v1/results/{rid}/files", headers=other).status_code == 403
    assert upload(client, rid, other, CSV, name="x.csv").status_code == 403
    assert client.get(f"/api/v1/files/{item['id']}", headers=other).status_code == 403
    assert client.delete(f"/api/v1/files/{item['id']}", headers=other).status_code == 403
    # and the Kyrgyz officer cannot attach to the Tajik line
    assert upload(client, results["tjk"], tokens["kgz"], CSV, name="x.csv").status_code == 403
    assert len(session.exec(select(EvidenceFile)).all()) == 1 and len(blobs(files_dir)) == 1


def test_readers_read_but_only_the_lines_officer_writes(client, world, files_dir):
    results, tokens = world
    rid = results["draft"]
    item = upload(client, rid, tokens["kgz"], PDF).json()
    for role in ("reviewer", "donor"):
        assert client.get(f"/api/v1/results/{rid}/files", headers=tokens[role]).status_code == 200
        assert client.get(f"/api/v1/files/{item['id']}", headers=tokens[role]).status_code == 200
        assert upload(client, rid, tokens[role], CSV, name="x.csv").status_code == 403
        assert client.delete(f"/api/v1/files/{item['id']}", headers=tokens[role]).status_code == 403
    # A donor viewer of another donor does not see the project at all.
    assert client.get(f"/api/v1/results/{rid}/files", headers=tokens["other_donor"]).status_code in (403, 404)
    assert client.get(f"/api/v1/files/{item['id']}", headers=tokens["other_donor"]).status_code in (403, 404)
    assert client.get(f"/api/v1/files/{item['id']}").status_code == 401


def test_files_follow_the_results_workflow(client, session, world, files_dir):
    results, tokens = world
    kgz = tokens["kgz"]
    # Submitted: files can be added (what the reviewer asks for), not removed.
    on_submitted = upload(client, results["submitted"], kgz, PDF, name="signed list.pdf")
    assert on_submitted.status_code == 201, on_submitted.text
    refused = client.delete(f"/api/v1/files/{on_submitted.json()['id']}", headers=kgz)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"
    assert "submitted for review" in refused.json()["error"]["message"]

    # Approved by the reviewer: locked with the result.
    approved = client.post(f"/api/v1/results/{results['submitted']}/approve", headers=tokens["reviewer"])
    assert approved.status_code == 200, approved.text
    locked = client.delete(f"/api/v1/files/{on_submitted.json()['id']}", headers=kgz)
    assert locked.status_code == 409 and locked.json()["error"]["code"] == "locked"
    assert "locked with the approved result" in locked.json()["error"]["message"]
    late = upload(client, results["approved"], kgz, CSV, name="late.csv")
    assert late.status_code == 409 and late.json()["error"]["code"] == "locked"

    # Returned: files can be removed again.
    on_returned = upload(client, results["returned"], kgz, CSV, name="list.csv").json()
    assert client.delete(f"/api/v1/files/{on_returned['id']}", headers=kgz).status_code == 204

    # A closed period: nothing changes.
    draft_file = upload(client, results["draft"], kgz, TEXT, name="n.txt").json()
    session.get(Period, "2024Q1").status = "closed"
    session.commit()
    closed = upload(client, results["draft"], kgz, CSV, name="x.csv")
    assert closed.status_code == 409 and "closed" in closed.json()["error"]["message"]
    assert client.delete(f"/api/v1/files/{draft_file['id']}", headers=kgz).status_code == 409
    names = {f.name for f in session.exec(select(EvidenceFile))}
    assert names == {"signed list.pdf", "n.txt"}


def test_equal_files_are_stored_once_and_kept_while_any_row_holds_them(client, session, world, files_dir):
    results, tokens = world
    kgz = tokens["kgz"]
    first = upload(client, results["draft"], kgz, PDF, name="a.pdf").json()
    second = upload(client, results["returned"], kgz, PDF, name="copy of a.pdf").json()
    third = upload(client, results["draft"], kgz, PDF, name="again.pdf").json()
    assert first["sha256"] == second["sha256"] == third["sha256"]
    assert blobs(files_dir) == [first["sha256"]] and leftovers(files_dir) == []
    assert client.delete(f"/api/v1/files/{first['id']}", headers=kgz).status_code == 204
    assert client.delete(f"/api/v1/files/{third['id']}", headers=kgz).status_code == 204
    assert blobs(files_dir) == [first["sha256"]]  # the returned result still holds it
    assert client.get(f"/api/v1/files/{second['id']}", headers=kgz).content == PDF
    assert client.delete(f"/api/v1/files/{second['id']}", headers=kgz).status_code == 204
    assert blobs(files_dir) == []


def test_a_missing_blob_is_a_clear_404_not_a_server_error(client, world, files_dir):
    results, tokens = world
    item = upload(client, results["draft"], tokens["kgz"], PDF).json()
    store.remove(files_dir, item["sha256"])
    got = client.get(f"/api/v1/files/{item['id']}", headers=tokens["kgz"])
    assert got.status_code == 404 and "missing from the server's files folder" in got.json()["error"]["message"]


# --- names --------------------------------------------------------------------------------

@pytest.mark.parametrize("given, shown", [
    ("report.pdf", "report.pdf"),
    ("C:\\Users\\aigul\\Desktop\\list.pdf", "list.pdf"),
    ("../../etc/passwd", "passwd"),
    ("evil\u202efdp.exe", "evilfdp.exe"),
    ("tab\there\x00.pdf", "tabhere.pdf"),
    ("  spaced   out .pdf ", "spaced out .pdf"),
    ("", "file"),
    ("..", "file"),
    ("a" * 300 + ".xlsx", "a" * 249 + "….xlsx"),
])
def test_the_name_is_made_safe_to_show(given, shown):
    assert display_name(given) == shown
    assert len(display_name(given)) <= 255


def test_content_rules_without_http(tmp_path):
    def sniff(data: bytes) -> str:
        path = tmp_path / "f"
        path.write_bytes(data)
        return content.sniff(path)

    assert sniff(b"\xef\xbb\xbfa,b\n1,2\n") == "text/csv; charset=utf-8"
    assert sniff(b'"a, with comma",b\n"x, y",z\n') == "text/csv; charset=utf-8"
    assert sniff(b"one line of text, with a comma\n") == "text/plain; charset=utf-8"
    with pytest.raises(content.Refused, match="markup"):
        sniff(b"\n   <svg onload=alert(1)>")


# --- the result page -----------------------------------------------------------------------

def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_result_page_lists_attaches_and_removes_files(client, session, world, files_dir):
    results, _ = world
    rid = results["draft"]
    factories.sign_in(client, KGZ_EMAIL)
    page = client.get(f"/results/{rid}")
    assert page.status_code == 200
    assert 'id="evidence"' in page.text and "No files attached." in page.text
    assert 'enctype="multipart/form-data"' in page.text and 'for="evidence-file"' in page.text
    assert f'accept="{content.ACCEPT}"' in page.text
    csrf = csrf_of(page.text)

    markup = "<img src=x onerror='alert(1)'><b>list.pdf"  # no slash: that would cut the path
    done = client.post(f"/results/{rid}/files", data={"csrf_token": csrf},
                       files={"file": (markup, PDF, "application/pdf")}, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/results/{rid}?file=added#evidence"
    page = client.get(done.headers["location"])
    assert "The file has been attached." in page.text
    assert "<img src=x" not in page.text and "<b>list" not in page.text
    assert "&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&lt;b&gt;list.pdf" in page.text
    assert f"PDF, {len(PDF)} bytes" in page.text

    row = session.exec(select(EvidenceFile).where(EvidenceFile.result_id == rid)).one()
    got = client.get(f"/files/{row.id}")  # the browser's download, by the session cookie
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-disposition"].startswith("attachment; ")
    assert got.headers["x-content-type-options"] == "nosniff" and got.headers["content-type"] == "application/pdf"

    refused = client.post(f"/results/{rid}/files", data={"csrf_token": csrf},
                          files={"file": ("report.pdf", HTML, "application/pdf")}, follow_redirects=False)
    assert refused.status_code == 422
    assert "Nothing was attached: It is markup" in refused.text and 'id="evidence-error"' in refused.text
    empty = client.post(f"/results/{rid}/files", data={"csrf_token": csrf},  # as a browser sends no file
                        files={"file": ("", b"", "application/octet-stream")}, follow_redirects=False)
    assert empty.status_code == 422 and "Choose a file to upload." in empty.text

    removed = client.post(f"/files/{row.id}/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert removed.status_code == 303 and removed.headers["location"].endswith("?file=deleted#evidence")
    assert "The file has been removed." in client.get(removed.headers["location"]).text
    assert blobs(files_dir) == []


def test_the_page_says_why_files_cannot_change(client, session, world):
    results, tokens = world
    upload(client, results["submitted"], tokens["kgz"], PDF, name="list.pdf")
    factories.sign_in(client, KGZ_EMAIL)
    submitted = client.get(f"/results/{results['submitted']}").text
    assert "list.pdf" in submitted and "Remove list.pdf" not in submitted
    assert "its files can be removed only if a reviewer returns it" in submitted
    assert 'for="evidence-file"' in submitted  # still attachable
    approved = client.get(f"/results/{results['approved']}").text
    assert 'for="evidence-file"' not in approved and "its files are locked with it" in approved
    # Without the session's CSRF token nothing is written.
    assert client.post(f"/results/{results['draft']}/files",
                       files={"file": ("a.pdf", PDF, "application/pdf")}).status_code == 403


def test_another_countrys_officer_gets_the_forbidden_page(client, session, world):
    results, tokens = world
    item = upload(client, results["draft"], tokens["kgz"], PDF).json()
    factories.user(session, "country_officer", countries=["TJK"], email="evidence.tjk@test.example")
    session.commit()
    csrf = factories.sign_in(client, "evidence.tjk@test.example")
    assert client.get(f"/files/{item['id']}").status_code == 403
    assert client.post(f"/files/{item['id']}/delete", data={"csrf_token": csrf}).status_code == 403
    assert client.post(f"/results/{results['draft']}/files", data={"csrf_token": csrf},
                       files={"file": ("a.pdf", PDF, "application/pdf")}).status_code == 403
