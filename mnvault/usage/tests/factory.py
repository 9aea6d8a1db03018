"""Scenes for the document tests: employees with dependents and stored numbers, and payroll
files as payroll software exports them — numbers blank — built from the layouts."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

from mnvault.accounts.models import User
from mnvault.companies.models import Company, CompanyPurpose
from mnvault.companies.purposes import Purpose
from mnvault.conftest import make_person
from mnvault.people.models import Person, PersonKind, Relationship
from mnvault.usage.layouts import unified_csv
from mnvault.vault.models import VerificationChannel
from mnvault.vault.services import Verification, store_number

FAMILY = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
GIVEN = ["一郎", "花子", "健太", "美咲", "大輔", "陽子", "翔", "愛", "誠", "舞"]
KANA_FAMILY = [
    "サトウ",
    "スズキ",
    "タカハシ",
    "タナカ",
    "イトウ",
    "ワタナベ",
    "ヤマモト",
    "ナカムラ",
]
KANA_FAMILY += ["コバヤシ", "カトウ"]
KANA_GIVEN = [
    "イチロウ",
    "ハナコ",
    "ケンタ",
    "ミサキ",
    "ダイスケ",
    "ヨウコ",
    "ショウ",
    "アイ",
    "マコト",
]
KANA_GIVEN += ["マイ"]


@dataclass
class Staff:
    employee: Person
    dependents: list[Person] = field(default_factory=list)


def store(person: Person, number: str, handler: User, purposes: list[str]) -> None:
    store_number(
        acting_user=handler,
        person=person,
        number=number,
        purposes=purposes,
        verification=Verification(channel=VerificationChannel.IN_PERSON, verified_by=handler),
    )


def staff(
    company: Company, handler: User, make_number, count: int, *, dependents_every: int = 2
) -> list[Staff]:
    """``count`` employees, codes E0001…, every ``dependents_every``-th with a spouse and a
    child; everyone's number stored with the withholding purpose."""
    CompanyPurpose.objects.get_or_create(company=company, purpose=Purpose.WITHHOLDING)
    made = []
    for i in range(count):
        employee = make_person(
            company,
            family_name=FAMILY[i % 10],
            given_name=GIVEN[(i // 10) % 10] + ("" if i < 100 else str(i // 100)),
            family_name_kana=KANA_FAMILY[i % 10],
            given_name_kana=KANA_GIVEN[(i // 10) % 10],
            birth_date=date(1960 + i % 40, 1 + i % 12, 1 + i % 28),
            employee_code=f"E{i + 1:04d}",
        )
        store(employee, make_number(), handler, [Purpose.WITHHOLDING])
        entry = Staff(employee)
        if i % dependents_every == 0:
            for relationship, given, kana in (
                (Relationship.SPOUSE, "和子", "カズコ"),
                (Relationship.CHILD, "次郎", "ジロウ"),
            ):
                dependent = make_person(
                    company,
                    kind=PersonKind.DEPENDENT,
                    employee=employee,
                    relationship=relationship,
                    family_name=employee.family_name,
                    given_name=given,
                    family_name_kana=employee.family_name_kana,
                    given_name_kana=kana,
                    birth_date=date(1990, 5, 5),
                )
                store(dependent, make_number(), handler, [Purpose.WITHHOLDING])
                entry.dependents.append(dependent)
        made.append(entry)
    return made


def half_kana(text: str) -> str:
    """Full-width katakana in half width, as the 統一CSV's カナ氏名 wants them."""
    table = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF66, 0xFF9E)}
    out = []
    for char in text:
        if char in table:
            out.append(table[char])
            continue
        base = unicodedata.normalize("NFD", char)
        if len(base) == 2 and base[0] in table:
            mark = "ﾞ" if base[1] == "\u3099" else "ﾟ"
            out.append(table[base[0]] + mark)
        else:
            out.append(char)
    return "".join(out)


def unified_row(
    year: int,
    entry: Staff,
    *,
    amount: int = 4_000_000,
    code: str | None = None,
    name: str | None = None,
    title: str = "",
) -> list[str]:
    """One 統一CSV record of ``entry`` with every number column empty."""
    layout = unified_csv.layout_for(year)
    values = [""] * layout.width
    employee = entry.employee
    values[layout.record_code] = "315"
    values[layout.payer_address] = "東京都千代田区千代田1-1"
    values[layout.payer_name] = "株式会社テスト"
    values[layout.payer_phone] = "03-0000-0000"
    values[layout.submission_kind] = "0"
    values[layout.year] = f"{year - 2018:02d}"
    values[layout.recipient_address] = "東京都港区芝公園4-2-8"
    values[layout.recipient_name] = name if name is not None else str(employee)
    values[layout.recipient_title] = title
    values[layout.payment_kind] = "給料・賞与"
    values[layout.payment_amount] = str(amount)
    values[layout.tax_withheld] = str(amount // 20)
    born = employee.birth_date
    assert born is not None
    era, start = ("昭和", 1926) if born.year < 1989 else ("平成", 1989)
    values[layout.birth_era] = unified_csv.ERA_CODES[era]
    values[layout.birth_year] = str(born.year - start + 1)
    values[layout.birth_month] = str(born.month)
    values[layout.birth_day] = str(born.day)
    values[layout.kana_name] = half_kana(f"{employee.family_name_kana} {employee.given_name_kana}")
    values[layout.employee_code] = employee.employee_code if code is None else code
    values[layout.municipality_code] = "131032"
    for dependent in entry.dependents:
        columns = (
            layout.spouse if dependent.relationship == Relationship.SPOUSE else layout.under_16[0]
        )
        values[columns.name] = str(dependent)
        values[columns.kana] = f"{dependent.family_name_kana} {dependent.given_name_kana}"
        values[columns.category] = "00"
    return values


def csv_bytes(rows: list[list[str]], encoding: str = "cp932") -> bytes:
    return "".join(",".join(row) + "\r\n" for row in rows).encode(encoding)
