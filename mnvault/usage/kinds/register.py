"""The number register (帳簿, domain R26): employees may leave the numbers off their
扶養控除等(異動)申告書 when the employer keeps a register of the numbers it already holds — the
employee's, the spouse's and the dependents' — for those who filed a declaration. The input lists
who filed (employee code or name and birth date); the relatives are everyone mnvault holds for
them. No market product was seen to make this register (issue 11).

The register is kept by the company, not sent anywhere: the archive is its copy, and the run
records that it was made and which declarations' year it serves (its retention follows the
last declaration it serves, R26).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from mnvault.companies.purposes import Purpose
from mnvault.people.models import Person, PersonKind
from mnvault.usage.kinds import simple_csv
from mnvault.usage.kinds.base import Checked, Context, DocumentKind, InputRow, Sink
from mnvault.usage.models import Recipient
from mnvault.usage.pdf import register as pdf
from mnvault.usage.slips import RegisterEntry, RegisterNumbers, Relative

COLUMNS = ("code", "name", "kana", "birth_date")


def read(lines: Iterable[tuple[int, list[str]]], year: int) -> Iterator[InputRow]:
    for line, values in simple_csv.read(lines, COLUMNS, ()):
        row = simple_csv.person_row(line, values, COLUMNS)
        if not (row.code or row.name):
            row.error = str(_("Give the employee code or the name."))
        yield row


def write(
    context: Context, rows: list[Checked], numbers: Mapping[int, str], sink: Sink
) -> dict[str, Any]:
    ids = {r.person_id for r in rows} | {pk for r in rows for pk in r.relatives if pk}
    people = Person.objects.in_bulk(list(ids))
    items = []
    for row in rows:
        employee = people[row.person_id]
        relatives = tuple(
            Relative(
                name=str(people[pk]),
                kana=f"{people[pk].family_name_kana} {people[pk].given_name_kana}".strip(),
                category=people[pk].get_relationship_display(),
                person_id=pk,
            )
            for pk in row.relatives
            if pk is not None
        )
        entry = RegisterEntry(
            year=context.year,
            employee_name=str(employee),
            employee_code=employee.employee_code,
            relatives=relatives,
            person_id=employee.pk,
        )
        held = RegisterNumbers(
            employee=numbers[employee.pk],
            relatives=tuple(numbers.get(r.person_id or 0) for r in relatives),
        )
        items.append((entry, held))
    with sink(f"register_{context.year}.pdf") as handle:
        pdf.number_register(items, handle, company_name=context.company_name, year=context.year)
    return {"documents": len(items)}


KIND = DocumentKind(
    code="number_register",
    label=_("Number register for the withholding declarations"),
    purpose=Purpose.WITHHOLDING,
    person_kinds=frozenset({PersonKind.EMPLOYEE}),
    relatives=True,
    recipient=Recipient.KEPT,
    source="所得税法施行規則 §76-3 (domain R25, R26); layout mnvault's own",
    years=range(2016, 2100),
    input_help=_(
        "A CSV with a header row listing the employees who filed a declaration without "
        "numbers: employee code (社員番号), or name (氏名) and birth date (生年月日)."
    ),
    read=read,
    write=write,
    all_dependents=True,
)
