"""Each document kind end to end: the 309 支払調書 (with R34's thresholds), the number register
(R26) and an insurance sheet — read back from the archive and checked against the vault."""

from __future__ import annotations

import io

import pytest
import pyzipper
from django.utils import timezone
from pypdf import PdfReader

from mnvault.companies.models import CompanyPurpose
from mnvault.companies.purposes import Purpose
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.people.models import PersonPurpose
from mnvault.scheduler import tasks
from mnvault.usage import output, runs
from mnvault.usage.layouts import etax_309
from mnvault.usage.models import ProvidedPerson, RunStatus
from mnvault.usage.tests.factory import staff, store
from mnvault.vault.services import reveal_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
YEAR = 2025
CORPORATE_NUMBER = "7000012050002"


def produced(personas, kind, data, **kwargs):
    run = runs.prepare_run(
        acting_user=personas.handler,
        company=personas.company,
        kind=kind,
        year=YEAR,
        data=data.encode("cp932"),
        **kwargs,
    )
    password = runs.start_production(acting_user=personas.handler, run=run)
    tasks.run_pending()
    run.refresh_from_db()
    assert run.status == RunStatus.PRODUCED, run.summary
    zf = pyzipper.AESZipFile(io.BytesIO(output.path_of(run.output_name).read_bytes()))
    zf.setpassword(password.encode())
    return run, zf


def text_of(pdf: bytes) -> str:
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    return text.replace(" ", "").replace("-", "").replace("\n", "")


@pytest.fixture
def payees(personas, make_number):
    personas.company.corporate_number = CORPORATE_NUMBER
    personas.company.save()
    CompanyPurpose.objects.create(company=personas.company, purpose=Purpose.FEE_PAYMENT_RECORDS)
    made = []
    for code, name in (("P1", "山田 太郎"), ("P2", "鈴木 花子"), ("P3", "田中 誠")):
        payee = make_person(personas.company, kind="payee", employee_code=code)
        payee.family_name, payee.given_name = name.split()
        payee.save()
        store(payee, make_number(), personas.handler, [Purpose.FEE_PAYMENT_RECORDS])
        made.append(payee)
    return made


def test_the_309_run_files_only_the_required_records_with_their_numbers(personas, payees):
    data = (
        "支払先コード,氏名,住所,区分,細目,支払金額,源泉徴収税額,摘要\r\n"
        "P1,山田 太郎,東京都港区芝1-1,原稿料,雑誌,120000,12252,\r\n"  # over ¥50k: filed
        "P2,鈴木 花子,東京都港区芝1-2,原稿料,雑誌,30000,3063,\r\n"  # under: not required
        "P3,田中 誠,東京都港区芝1-3,外交員報酬,,400000,0,\r\n"  # under ¥500k: not required
    )
    run, zf = produced(personas, "payment_fees", data, payer_address="東京都千代田区1-1")
    lines = zf.read(f"309_{YEAR}_etax.csv").decode("shift_jis").split("\r\n")
    records = [line.split(",") for line in lines if line]
    number = reveal_number(
        acting_user=personas.responsible_manager, person=payees[0], purpose="fee_payment_records"
    )
    assert len(records) == 1
    (record,) = records
    keys = [f.key for f in etax_309.FIELDS]
    assert record[keys.index("payee_number")] == number
    assert record[keys.index("filer_number")] == CORPORATE_NUMBER
    assert record[keys.index("payee_name")] == "山田　太郎"  # full width, as the record wants
    assert run.summary["documents"] == 1 and run.summary["not_required"] == 2
    assert set(ProvidedPerson.objects.filter(run=run).values_list("person_id", flat=True)) == {
        payees[0].pk
    }
    assert number in text_of(zf.read(f"309_{YEAR}_tax_office.pdf"))
    copies = output.path_of(run.copies_name).read_bytes()
    assert number not in text_of(copies) and CORPORATE_NUMBER not in text_of(copies)


def test_the_309_run_needs_the_payers_address(personas, payees):
    with pytest.raises(runs.RunProblem) as refused:
        runs.prepare_run(
            acting_user=personas.handler,
            company=personas.company,
            kind="payment_fees",
            year=YEAR,
            data="支払先コード,区分,支払金額\r\nP1,原稿料,1\r\n".encode(),
        )
    assert refused.value.code == "payer"


def test_the_number_register_lists_every_dependent_held(personas, make_number):
    scene = staff(personas.company, personas.handler, make_number, 3)
    data = "社員番号\r\nE0001\r\nE0002\r\n"
    run, zf = produced(personas, "number_register", data)
    (name,) = zf.namelist()
    text = text_of(zf.read(name))
    for person in (scene[0].employee, *scene[0].dependents, scene[1].employee):
        number = reveal_number(
            acting_user=personas.responsible_manager, person=person, purpose="withholding"
        )
        assert number in text
    assert ProvidedPerson.objects.filter(run=run).count() == 4


def test_an_insurance_sheet_carries_the_number_for_its_purpose_only(personas, make_number):
    CompanyPurpose.objects.create(company=personas.company, purpose=Purpose.EMPLOYMENT_INSURANCE)
    scene = staff(personas.company, personas.handler, make_number, 2, dependents_every=9)
    PersonPurpose.objects.create(
        person=scene[0].employee,
        purpose=Purpose.EMPLOYMENT_INSURANCE,
        notified_on=timezone.localdate(),
    )
    data = "社員番号,取得年月日\r\nE0001,2025/4/1\r\nE0002,2025/4/1\r\n"
    run = runs.prepare_run(
        acting_user=personas.handler,
        company=personas.company,
        kind="employment_insurance_acquisition",
        year=YEAR,
        data=data.encode(),
    )
    problems = {row.line: [p["code"] for p in row.problems] for row in run.rows.all()}
    assert problems == {2: [], 3: ["purpose_not_notified_to_person"]}
    password = runs.start_production(acting_user=personas.handler, run=run)
    tasks.run_pending()
    run.refresh_from_db()
    zf = pyzipper.AESZipFile(io.BytesIO(output.path_of(run.output_name).read_bytes()))
    zf.setpassword(password.encode())
    (name,) = zf.namelist()
    number = reveal_number(
        acting_user=personas.responsible_manager,
        person=scene[0].employee,
        purpose="employment_insurance",
    )
    assert number in text_of(zf.read(name))
    assert ProvidedPerson.objects.filter(run=run).count() == 1
