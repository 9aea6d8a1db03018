"""Producing a run: the filled 統一CSV read back against the vault, the protected archive, the
recipients' copies without numbers, and one audit entry per number that left."""

from __future__ import annotations

import io
import subprocess

import pytest
import pyzipper
from pypdf import PdfReader

from mnvault.audit.actions import Action
from mnvault.audit.models import AuditEntry, Outcome
from mnvault.conftest import ALL_DATABASES
from mnvault.people.models import PersonPurpose
from mnvault.scheduler import tasks
from mnvault.usage import output, runs
from mnvault.usage.layouts import unified_csv
from mnvault.usage.models import ProvidedPerson, RunStatus
from mnvault.usage.tests.factory import csv_bytes, staff, unified_row
from mnvault.vault.errors import Refused
from mnvault.vault.services import reveal_number

YEAR = 2025
pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
CORPORATE_NUMBER = "7000012050002"  # domain R40's valid example


@pytest.fixture
def scene(personas, make_number):
    personas.company.corporate_number = CORPORATE_NUMBER
    personas.company.save()
    return staff(personas.company, personas.handler, make_number, 12)


def numbers_of(personas, people):
    """The stored numbers, read through the vault as the responsible manager (test only)."""
    return {
        p.pk: reveal_number(
            acting_user=personas.responsible_manager, person=p, purpose="withholding"
        )
        for p in people
    }


def produce(personas, scene, user=None):
    rows = [
        unified_row(YEAR, s, amount=6_000_000 if i < 3 else 3_000_000) for i, s in enumerate(scene)
    ]
    run = runs.prepare_run(
        acting_user=personas.handler,
        company=personas.company,
        kind="withholding",
        year=YEAR,
        data=csv_bytes(rows),
    )
    password = runs.start_production(acting_user=user or personas.handler, run=run)
    tasks.run_pending()
    run.refresh_from_db()
    return run, password


def archive(run, password):
    data = output.path_of(run.output_name).read_bytes()
    zf = pyzipper.AESZipFile(io.BytesIO(data))
    zf.setpassword(password.encode())
    return data, zf


@pytest.mark.slow
def test_the_filled_unified_csv_of_200_employees_carries_every_number_in_its_column(
    personas, make_number, settings
):
    settings.MNVAULT_COMPANY_REVEALS_PER_HOUR = 0
    settings.MNVAULT_REVEALS_PER_HOUR = 0
    personas.company.corporate_number = CORPORATE_NUMBER
    personas.company.save()
    scene = staff(personas.company, personas.handler, make_number, 200)
    run, password = produce(personas, scene)
    assert run.status == RunStatus.PRODUCED, run.summary
    _, zf = archive(run, password)
    text = zf.read(f"315_{YEAR}_unified.csv").decode("shift_jis")
    layout = unified_csv.layout_for(YEAR)
    lines = [line.split(",") for line in text.split("\r\n") if line]
    everyone = [p for s in scene for p in (s.employee, *s.dependents)]
    stored = numbers_of(personas, everyone)
    assert len(lines) == len(scene)
    for values, entry in zip(lines, scene, strict=True):
        assert len(values) == layout.width
        assert values[layout.recipient_number] == stored[entry.employee.pk]
        assert values[layout.payer_corporate_number] == CORPORATE_NUMBER
        if entry.dependents:
            spouse, child = entry.dependents
            assert values[layout.spouse.number] == stored[spouse.pk]
            assert values[layout.under_16[0].number] == stored[child.pk]
        else:
            assert values[layout.spouse.number] == ""
        # R33: over ¥5M after year-end adjustment goes to the tax office as well.
        expected = "2" if int(values[layout.payment_amount]) > 5_000_000 else "1"
        assert values[layout.creation_kind] == expected
    assert run.summary["tax_office"] == 3


def test_every_number_that_left_has_its_audit_entry(personas, scene):
    run, _ = produce(personas, scene)
    provided = AuditEntry.objects.filter(action=Action.NUMBER_PROVIDE, outcome=Outcome.OK)
    everyone = {p.pk for s in scene for p in (s.employee, *s.dependents)}
    assert {e.person_id for e in provided} == everyone
    assert provided.count() == len(everyone)
    assert {e.detail["run"] for e in provided} == {run.pk}
    assert set(ProvidedPerson.objects.filter(run=run).values_list("person_id", flat=True)) == (
        everyone
    )
    runs.download_archive(acting_user=personas.handler, run=run)
    downloads = AuditEntry.objects.filter(action=Action.DOCUMENT_DOWNLOAD, outcome=Outcome.OK)
    assert downloads.count() == len(everyone)


def test_the_archive_cannot_be_opened_without_the_password_and_holds_no_number_in_clear(
    personas, scene
):
    run, password = produce(personas, scene)
    data, _ = archive(run, password)
    everyone = [p for s in scene for p in (s.employee, *s.dependents)]
    for number in numbers_of(personas, everyone).values():
        assert number.encode() not in data
    locked = pyzipper.AESZipFile(io.BytesIO(data))
    with pytest.raises(RuntimeError):
        locked.read(f"315_{YEAR}_unified.csv")
    assert run.password_sealed is None and run.password_key_ref == ""


def test_the_recipients_copies_carry_no_number_and_no_corporate_number(personas, scene):
    run, password = produce(personas, scene)
    copies = output.path_of(run.copies_name)
    text = "".join(page.extract_text() for page in PdfReader(copies).pages)
    compact = text.replace(" ", "").replace("-", "").replace("\n", "")
    everyone = [p for s in scene for p in (s.employee, *s.dependents)]
    for number in [*numbers_of(personas, everyone).values(), CORPORATE_NUMBER]:
        assert number not in compact
    assert str(scene[0].employee.family_name) in text
    _, zf = archive(run, password)
    office = PdfReader(io.BytesIO(zf.read(f"gensen_{YEAR}_tax_office_001.pdf")))
    office_text = "".join(p.extract_text() for p in office.pages).replace(" ", "")
    stored = numbers_of(personas, [scene[0].employee])
    assert stored[scene[0].employee.pk] in office_text.replace("-", "").replace("\n", "")
    png = subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(copies)],
        capture_output=True,
        check=True,
    ).stdout
    assert png.startswith(b"\x89PNG")


def test_no_number_is_left_on_disk_after_a_run(personas, scene, settings, tmp_path):
    produce(personas, scene)
    everyone = [p for s in scene for p in (s.employee, *s.dependents)]
    stored = numbers_of(personas, everyone).values()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(n.encode() in data for n in stored), path


@pytest.mark.parametrize(
    "role", ["staff", "auditor", "company_admin", "installation_admin", "other_handler"]
)
def test_roles_without_numbers_cannot_produce_and_are_audited(personas, scene, role):
    rows = [unified_row(YEAR, s) for s in scene[:2]]
    run = runs.prepare_run(
        acting_user=personas.handler,
        company=personas.company,
        kind="withholding",
        year=YEAR,
        data=csv_bytes(rows),
    )
    with pytest.raises(Refused):
        runs.start_production(acting_user=getattr(personas, role), run=run)
    entry = AuditEntry.objects.get(action=Action.DOCUMENT_PRODUCE)
    assert (entry.outcome, entry.reason) == (Outcome.REFUSED, "role")
    run.refresh_from_db()
    assert run.status == RunStatus.PREPARED


@pytest.mark.parametrize("role", ["staff", "auditor", "company_admin", "installation_admin"])
def test_roles_without_numbers_cannot_download_the_archive(personas, scene, role):
    run, _ = produce(personas, scene[:2])
    with pytest.raises(Refused):
        runs.download_archive(acting_user=getattr(personas, role), run=run)
    entry = AuditEntry.objects.get(action=Action.DOCUMENT_DOWNLOAD)
    assert (entry.outcome, entry.reason) == (Outcome.REFUSED, "role")


def test_hr_staff_may_download_the_recipients_copies(personas, scene):
    run, _ = produce(personas, scene[:2])
    assert runs.download_copies(acting_user=personas.staff, run=run) == run.copies_name


def test_a_number_withdrawn_from_its_purpose_after_checking_fails_the_run(personas, scene):
    rows = [unified_row(YEAR, s) for s in scene[:3]]
    run = runs.prepare_run(
        acting_user=personas.handler,
        company=personas.company,
        kind="withholding",
        year=YEAR,
        data=csv_bytes(rows),
    )
    runs.start_production(acting_user=personas.handler, run=run)
    PersonPurpose.objects.filter(person=scene[1].employee).delete()
    tasks.run_pending()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert not run.output_name
    refused = AuditEntry.objects.get(action=Action.NUMBER_PROVIDE, outcome=Outcome.REFUSED)
    assert refused.person_id == scene[1].employee.pk
    assert not list(output.documents_dir().iterdir())


def test_marking_submitted_records_date_and_method(personas, scene):
    run, _ = produce(personas, scene[:2])
    from django.utils import timezone

    runs.mark_submitted(
        acting_user=personas.handler,
        run=run,
        submitted_on=timezone.localdate(),
        method="eltax",
    )
    assert run.status == RunStatus.SUBMITTED and run.submission_method == "eltax"
    with pytest.raises(Refused):
        runs.mark_submitted(
            acting_user=personas.staff,
            run=run,
            submitted_on=timezone.localdate(),
            method="eltax",
        )


def test_archives_past_their_time_are_deleted_and_orphans_swept(personas, scene):
    from datetime import timedelta

    from django.utils import timezone

    run, _ = produce(personas, scene[:2])
    orphan = output.path_of("run-999-0000000000000000.zip")
    orphan.write_bytes(b"left by a crash")
    now = timezone.now()
    assert output.remove_expired(now=now) == 0  # neither expired nor old enough
    later = now + timedelta(hours=output.ARCHIVE_HOURS + 1)
    import os

    os.utime(orphan, (later.timestamp() - 2 * 3600 * output.ARCHIVE_HOURS,) * 2)
    assert output.remove_expired(now=later) == 2
    run.refresh_from_db()
    assert run.output_name == "" and not orphan.exists()
    assert output.path_of(run.copies_name).exists()
    with pytest.raises(runs.RunProblem):
        runs.download_archive(acting_user=personas.handler, run=run)
