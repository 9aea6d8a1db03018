"""The documents pages as a handler uses them — upload a payroll file, confirm a row, produce,
note the password shown once, download, mark submitted — and as every other role meets them:
no control to produce or to download numbers, and a refusal (audited) if they try."""

from __future__ import annotations

import io
import re
import time
from datetime import date, timedelta

import pytest
import pyzipper
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from mnvault.audit.actions import Action
from mnvault.audit.models import AuditEntry, Outcome
from mnvault.conftest import ALL_DATABASES
from mnvault.scheduler import tasks
from mnvault.usage import runs
from mnvault.usage.models import DocumentRun, MatchState, RunStatus
from mnvault.usage.tests.factory import csv_bytes, staff, unified_row
from mnvault.web.reauth import AUTHENTICATED_AT
from mnvault.web.tests.fixtures import verified_client

YEAR = 2025
PASSWORD = re.compile(r"[A-Za-z2-9]{5}(?:-[A-Za-z2-9]{5}){3}")
pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """The run's files land in this test's own data directory."""
    monkeypatch.setenv("MNVAULT_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def scene(personas, make_number):
    return staff(personas.company, personas.handler, make_number, 4)


def url(personas, name: str, run: DocumentRun | None = None, **more) -> str:
    args = {"company_id": personas.company.pk, **more}
    if run is not None:
        args["run_id"] = run.pk
    return reverse(f"web:{name}", kwargs=args)


def upload(client, personas, data: bytes, **fields):
    body = {
        "kind": "withholding",
        "year": str(YEAR),
        "file": SimpleUploadedFile("gensen.csv", data, content_type="text/csv"),
        **fields,
    }
    return client.post(url(personas, "document_new"), body)


def prepared(personas, scene) -> DocumentRun:
    return runs.prepare_run(
        acting_user=personas.handler,
        company=personas.company,
        kind="withholding",
        year=YEAR,
        data=csv_bytes([unified_row(YEAR, s) for s in scene]),
    )


def produced(personas, scene) -> tuple[DocumentRun, str]:
    run = prepared(personas, scene)
    password = runs.start_production(acting_user=personas.handler, run=run)
    tasks.run_pending()
    run.refresh_from_db()
    return run, password


def ja(text: str) -> str:
    """``text`` in Japanese, as a page shows it (HTML-escaped)."""
    with translation.override("ja"):
        return escape(translation.gettext(text))


def test_a_handler_uploads_confirms_produces_downloads_and_marks_submitted(personas, scene):
    client = verified_client(personas.handler)
    rows = [unified_row(YEAR, s) for s in scene]
    rows[1] = unified_row(YEAR, scene[1], code="")  # matched by name and birth date only
    response = upload(client, personas, csv_bytes(rows), recipient_detail="麹町税務署")
    assert response.status_code == 302
    run = DocumentRun.objects.get()
    assert response["Location"] == url(personas, "document_run", run)

    page = client.get(url(personas, "document_run", run)).content.decode()
    assert 'id="line-2"' in page and ja("Confirm the match") in page
    row = run.rows.get(line=2)
    response = client.post(url(personas, "document_row", run, row_id=row.pk), {"action": "confirm"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.match == MatchState.CONFIRMED

    response = client.post(url(personas, "document_produce", run))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    password = PASSWORD.search(response.content.decode())
    assert password, "the password is on the response of the POST"
    page = client.get(url(personas, "document_run", run)).content.decode()
    assert password[0] not in page
    assert 'http-equiv="refresh"' in page and 'id="progress"' in page

    tasks.run_pending()
    page = client.get(url(personas, "document_run", run)).content.decode()
    assert password[0] not in page and 'http-equiv="refresh"' not in page
    response = client.post(url(personas, "document_archive", run))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f"mnvault-withholding-{YEAR}-run{run.pk}.zip" in response["Content-Disposition"]
    archive = pyzipper.AESZipFile(io.BytesIO(b"".join(response.streaming_content)))
    archive.setpassword(password[0].encode())
    assert archive.read(f"315_{YEAR}_unified.csv")
    response = client.post(url(personas, "document_copies", run))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")

    today = timezone.localdate().isoformat()
    response = client.post(
        url(personas, "document_submit", run), {"submitted_on": today, "method": "etax"}
    )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.submitted_on is not None
    assert (run.status, run.submitted_on.isoformat(), run.submission_method) == (
        RunStatus.SUBMITTED,
        today,
        "etax",
    )
    listing = client.get(url(personas, "documents")).content.decode()
    assert f'id="run-{run.pk}"' in listing and today in listing
    person = client.get(
        reverse("web:person", args=[personas.company.pk, scene[0].employee.pk])
    ).content.decode()
    assert ja("Documents that carried this number") in person and today in person


def test_the_provision_ledger_exports_counts_and_is_audited(personas, scene):
    run, _ = produced(personas, scene)
    response = verified_client(personas.auditor).get(url(personas, "documents_csv"))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    provided = sum(1 + len(s.dependents) for s in scene)
    assert lines[1].startswith(f"{run.pk},") and lines[1].endswith(f",{provided}")
    entry = AuditEntry.objects.get(action=Action.DOCUMENT_LEDGER_EXPORT)
    assert entry.actor_id == personas.auditor.pk and entry.detail["runs"] == 1


def test_a_produced_run_unsubmitted_for_two_weeks_is_flagged(personas, scene):
    run, _ = produced(personas, scene)
    client = verified_client(personas.staff)
    assert 'id="stale-warning"' not in client.get(url(personas, "documents")).content.decode()
    DocumentRun.objects.filter(pk=run.pk).update(produced_at=timezone.now() - timedelta(days=15))
    assert 'id="stale-warning"' in client.get(url(personas, "documents")).content.decode()


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("staff", 403),
        ("auditor", 403),
        ("company_admin", 404),
        ("installation_admin", 404),
        ("other_handler", 404),
    ],
)
def test_roles_without_numbers_cannot_produce(personas, scene, persona, status):
    run = prepared(personas, scene)
    client = verified_client(getattr(personas, persona))
    if status == 403:
        page = client.get(url(personas, "document_run", run)).content.decode()
        assert 'id="produce"' not in page
    response = client.post(url(personas, "document_produce", run))
    assert response.status_code == status
    assert not PASSWORD.search(response.content.decode())
    run.refresh_from_db()
    assert run.status == RunStatus.PREPARED
    if status == 403:
        entry = AuditEntry.objects.get(action=Action.DOCUMENT_PRODUCE)
        assert (entry.outcome, entry.reason) == (Outcome.REFUSED, "role")


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("staff", 403),
        ("auditor", 403),
        ("company_admin", 404),
        ("installation_admin", 404),
        ("other_handler", 404),
    ],
)
def test_roles_without_numbers_cannot_download_the_archive(personas, scene, persona, status):
    run, _ = produced(personas, scene)
    client = verified_client(getattr(personas, persona))
    if status == 403:
        page = client.get(url(personas, "document_run", run)).content.decode()
        assert 'id="download-archive"' not in page and 'id="download-copies"' in page
    response = client.post(url(personas, "document_archive", run))
    assert response.status_code == status
    assert response.get("Content-Type", "").startswith("text/html")
    downloads = AuditEntry.objects.filter(action=Action.DOCUMENT_DOWNLOAD)
    assert set(downloads.values_list("outcome", flat=True)) == (
        {Outcome.REFUSED} if status == 403 else set()
    )


def test_a_stale_sign_in_confirms_before_producing(personas, scene):
    run = prepared(personas, scene)
    client = verified_client(personas.handler)
    session = client.session
    session[AUTHENTICATED_AT] = time.time() - 24 * 3600
    session.save()
    response = client.post(url(personas, "document_produce", run))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:reauth"))
    run.refresh_from_db()
    assert run.status == RunStatus.PREPARED


def test_a_file_in_another_encoding_is_refused_with_the_reason(personas, scene):
    data = "\r\n".join(",".join(unified_row(YEAR, s)) for s in scene).encode("utf-16")
    response = upload(verified_client(personas.handler), personas, data)
    assert response.status_code == 400
    assert ja("The file is not a CSV file in UTF-8 or Shift_JIS.") in response.content.decode()
    assert not DocumentRun.objects.exists()


def test_a_file_holding_a_number_is_refused_and_the_number_not_echoed(personas, scene, make_number):
    rows = [unified_row(YEAR, s) for s in scene]
    number = make_number()
    rows[2][94] = number
    response = upload(verified_client(personas.handler), personas, csv_bytes(rows))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="form-errors"' in page and number not in page
    assert not DocumentRun.objects.exists()


def test_a_payment_record_without_the_payers_address_is_refused(personas, scene):
    client = verified_client(personas.handler)
    data = (
        "支払先コード,氏名,住所,区分,細目,支払金額,源泉徴収税額\r\n"
        "P1,山田 太郎,東京都港区1-1,原稿料,雑誌,120000,12252\r\n"
    )
    response = upload(client, personas, data.encode("cp932"), kind="payment_fees")
    assert response.status_code == 400
    expected = ja("This document names the payer's address: give it as it should appear.")
    assert expected in response.content.decode()
    assert not DocumentRun.objects.exists()


def test_pages_answer_in_english_too(personas, scene):
    run = prepared(personas, scene)
    client = verified_client(personas.handler)
    client.cookies["django_language"] = "en"
    page = client.get(url(personas, "document_run", run)).content.decode()
    assert "Produce the documents" in page and "Check again" in page
    assert "New run" in client.get(url(personas, "documents")).content.decode()


def test_a_date_in_the_future_is_refused_on_the_page(personas, scene):
    run, _ = produced(personas, scene)
    response = verified_client(personas.handler).post(
        url(personas, "document_submit", run),
        {"submitted_on": date(2100, 1, 1).isoformat(), "method": "paper"},
    )
    assert response.status_code == 400
    assert ja("The submission date is in the future.") in response.content.decode()


def test_withdrawing_asks_for_a_ticked_box_then_deletes_the_archive(personas, scene):
    run, _ = produced(personas, scene)
    client = verified_client(personas.handler)
    response = client.post(url(personas, "document_withdraw", run))
    assert response.status_code == 400
    assert ja("Tick the box to confirm the withdrawal.") in response.content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.PRODUCED and run.output_name
    response = client.post(url(personas, "document_withdraw", run), {"confirm": "on"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.WITHDRAWN and not run.output_name


def test_while_producing_the_page_refreshes_to_its_own_address(personas, scene):
    run = prepared(personas, scene)
    runs.start_production(acting_user=personas.handler, run=run)
    client = verified_client(personas.handler)
    page = client.get(url(personas, "document_run", run)).content.decode()
    assert f'content="2;url={url(personas, "document_run", run)}"' in page
    tasks.run_pending()
    assert "http-equiv" not in client.get(url(personas, "document_run", run)).content.decode()


def test_a_correction_names_its_original_and_the_original_links_back(personas, scene):
    original, _ = produced(personas, scene)
    client = verified_client(personas.handler)
    data = csv_bytes([unified_row(YEAR, scene[0])])
    response = upload(client, personas, data, correction="correction", corrects=str(original.pk))
    assert response.status_code == 302
    correction = DocumentRun.objects.exclude(pk=original.pk).get()
    assert correction.corrects_id == original.pk
    page = client.get(url(personas, "document_run", original)).content.decode()
    assert f'href="{url(personas, "document_run", correction)}"' in page
    response = upload(client, personas, data, corrects=str(original.pk))
    assert response.status_code == 400
    assert ja("Choose correction or cancellation for run #.") in response.content.decode()
