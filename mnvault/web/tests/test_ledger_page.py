"""The handling ledger (domain R4): generated from the data, one row per kind of number file,
with responsible managers, who has access, purposes, deletion status and where the data is
kept — never a number, and never another company's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from mnvault.accounts.models import Membership, Role
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.vault.models import NumberRecord, NumberStatus
from mnvault.vault.services import Verification, store_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
ALLOWED = ["responsible_manager", "auditor", "handler"]
REFUSED = ["company_admin", "staff", "installation_admin", "no_role", "other_handler"]
CSS = Path(__file__).resolve().parents[1] / "static" / "web" / "mnvault.css"


def ledger_url(company) -> str:
    return reverse("web:ledger", args=[company.pk])


def store(user, person, number: str, purposes=("withholding",)) -> None:
    store_number(
        acting_user=user,
        person=person,
        number=number,
        purposes=list(purposes),
        verification=Verification(channel="in_person", document_kinds=["my_number_card"]),
    )


@pytest.fixture
def files(personas, make_number) -> list[str]:
    """Two employees, a dependent and a payee with numbers; one employee's disposed; and a
    number in the other company, which must not be counted."""
    company = personas.company
    first = make_person(company, employee_code="E1")
    second = make_person(company, employee_code="E2")
    child = make_person(company, kind="dependent", employee=first, relationship="child")
    payee = make_person(company, kind="payee")
    found = []
    for person, purposes in [
        (first, ["withholding", "social_insurance"]),
        (second, ["withholding"]),
        (child, ["withholding"]),
        (payee, ["withholding"]),
    ]:
        found.append(make_number())
        store(personas.handler, person, found[-1], purposes)
    NumberRecord.objects.filter(person=second).update(
        status=NumberStatus.DISPOSED,
        ciphertext=None,
        updated_at=datetime(2026, 3, 31, 16, 0, tzinfo=UTC),  # 2026-04-01 01:00 in Tokyo
    )
    found.append(make_number())
    store(personas.other_handler, make_person(personas.other_company), found[-1])
    return found


def row(page: str, kind: str) -> str:
    return page.split(f'<tr id="file-{kind}">')[1].split("</tr>")[0]


def cells(html: str) -> list[str]:
    return [c.split("</t")[0].split(">", 1)[1] for c in html.split("<t")[1:] if c[:1] in "dh"]


@pytest.mark.parametrize("role", ALLOWED)
def test_those_allowed_see_the_ledger(signed_in, personas, files, role):
    response = signed_in(getattr(personas, role)).get(ledger_url(personas.company))
    assert response.status_code == 200
    page = response.content.decode()
    assert "従業員の個人番号ファイル" in page and "支払先の個人番号ファイル" in page


def test_the_holders_full_names_are_in_the_ledger(signed_in, personas, files):
    personas.handler.first_name = "担当 花子"
    personas.handler.save(update_fields=["first_name"])
    page = signed_in(personas.auditor).get(ledger_url(personas.company)).content.decode()
    assert '<th scope="row">handler</th><td>担当 花子</td>' in page


@pytest.mark.parametrize("persona", REFUSED)
def test_everyone_else_gets_404(signed_in, personas, files, persona):
    assert (
        signed_in(getattr(personas, persona)).get(ledger_url(personas.company)).status_code == 404
    )


def test_counts_purposes_and_disposal_per_file(signed_in, personas, files):
    page = signed_in(personas.auditor).get(ledger_url(personas.company)).content.decode()
    employees = cells(row(page, "employee"))
    assert employees[0] == "従業員の個人番号ファイル" and employees[2] == "1"
    assert employees[3].startswith("1") and "2026-04-01" in employees[3]
    assert "源泉徴収票作成事務" in employees[4] and "健康保険・厚生年金保険届出事務" in employees[4]
    dependents = cells(row(page, "dependent"))
    assert dependents[2] == "1" and dependents[3] == "0"
    assert "健康保険" not in dependents[4]
    payees = cells(row(page, "payee"))
    assert payees[2] == "1" and payees[3] == "0"
    # The ledger's last disposal is the latest of all files, in Tokyo time.
    assert "<dt>最終廃棄日</dt><dd>2026-04-01 01:00</dd>" in page


def test_no_disposal_yet_shows_none(signed_in, personas, employee, make_number):
    store(personas.handler, employee, make_number())
    page = signed_in(personas.handler).get(ledger_url(personas.company)).content.decode()
    assert "<dt>最終廃棄日</dt><dd>なし</dd>" in page


def test_managers_access_scope_and_country(signed_in, personas, files):
    Membership.objects.filter(user=personas.handler).update(person_kinds=["payee"])
    revoked = Membership.objects.create(
        user=personas.staff, company=personas.company, role=Role.HANDLER
    )
    revoked.revoked_at = timezone.now()
    revoked.save()
    page = signed_in(personas.responsible_manager).get(ledger_url(personas.company))
    page = page.content.decode()
    managers = page.split("<dt>事務取扱責任者</dt>")[1].split("</dd>")[0]
    assert "responsible_manager" in managers and "handler" not in managers
    assert "<dt>データの保管場所</dt><dd>日本</dd>" in page
    # The handler's scope is payees: listed on the payee file only.
    assert "handler" in cells(row(page, "payee"))[5]
    assert "handler" not in cells(row(page, "employee"))[5].replace("responsible_manager", "")
    access = page.split('<table id="ledger-access">')[1].split("</table>")[0]
    people = {cells(r)[0]: cells(r) for r in access.split("<tbody>")[1].split("<tr>")[1:]}
    assert set(people) == {"responsible_manager", "handler"}  # not the revoked, not others
    assert people["handler"][3] == "支払先" and people["responsible_manager"][3] == "すべての区分"
    assert people["handler"][4] == timezone.localdate().isoformat()
    purposes = page.split('<table id="ledger-purposes">')[1].split("</table>")[0]
    assert "源泉徴収票作成事務" in purposes and "健康保険・厚生年金保険届出事務" in purposes


def test_another_companys_data_is_not_in_the_ledger(signed_in, personas, files):
    page = signed_in(personas.auditor).get(ledger_url(personas.company)).content.decode()
    assert "other_handler" not in page and "他社株式会社" not in page.split("<main")[1]
    total = sum(int(cells(row(page, kind))[2]) for kind in ("employee", "dependent", "payee"))
    assert total == 3


def test_the_ledger_holds_no_number(signed_in, personas, files):
    page = signed_in(personas.handler).get(ledger_url(personas.company)).content.decode()
    for number in files:
        assert number not in page and f"{number[:4]} {number[4:8]} {number[8:]}" not in page


def test_a_country_other_than_japan_is_shown_by_code(signed_in, personas, files):
    personas.company.data_country = "SG"
    personas.company.save()
    page = signed_in(personas.auditor).get(ledger_url(personas.company)).content.decode()
    assert "<dt>データの保管場所</dt><dd>SG</dd>" in page


def test_the_ledger_speaks_english_too(signed_in, personas, files):
    client = signed_in(personas.auditor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(ledger_url(personas.company)).content.decode()
    assert "Individual numbers of employees" in page and "Who has access" in page


def test_the_ledger_prints_without_the_navigation():
    css = CSS.read_text(encoding="utf-8")
    rule = css.split("@media print")[1]
    assert ".bar" in rule.split("}")[0]
