"""Social- and employment-insurance notifications that carry the number (domain R37, R38):
雇用保険 資格取得届 and 資格喪失届 to the public employment office, 健康保険・厚生年金保険
資格取得届 to the pension office.

The filing programs' layouts (日本年金機構's 届書作成プログラム CSV, e-Gov's bulk filing) are not
confirmed (docs/formats.md), so mnvault does not guess them: it makes a printable sheet of each
person's data and number, inside the encrypted archive, for the handler to transcribe onto the
official form or into the filing program.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from mnvault.companies.purposes import Purpose
from mnvault.people.models import PersonKind
from mnvault.usage.kinds import simple_csv
from mnvault.usage.kinds.base import Checked, Context, DocumentKind, InputRow, Sink
from mnvault.usage.models import Recipient
from mnvault.usage.pdf import insurance as pdf
from mnvault.usage.reading import plain_date
from mnvault.usage.slips import InsuranceNotice

COLUMNS = ("code", "name", "kana", "birth_date", "event_date", "remarks")


def read(lines: Iterable[tuple[int, list[str]]], year: int) -> Iterator[InputRow]:
    for line, values in simple_csv.read(lines, COLUMNS, ("event_date",)):
        row = simple_csv.person_row(line, values, COLUMNS)
        try:
            if plain_date(values[COLUMNS.index("event_date")]) is None:
                row.error = row.error or str(_("The date of acquisition or loss is missing."))
        except ValueError as error:
            row.error = row.error or str(error)
        yield row


def _writer(form: str) -> Any:
    def write(
        context: Context, rows: list[Checked], numbers: Mapping[int, str], sink: Sink
    ) -> dict[str, Any]:
        items = []
        for row in rows:
            field = dict(zip(COLUMNS, row.values, strict=True))
            notice = InsuranceNotice(
                form=form,
                event_date=plain_date(field["event_date"]),
                name=field["name"],
                kana=field["kana"],
                birth_date=plain_date(field["birth_date"]),
                employee_code=field["code"],
                remarks=field["remarks"],
                person_id=row.person_id,
            )
            items.append((notice, numbers[row.person_id]))
        with sink(f"{form}_{context.year}.pdf") as handle:
            pdf.notice_sheet(items, handle, company_name=context.company_name)
        return {"documents": len(items)}

    return write


def _kind(code: str, form: str, label: Any, purpose: str, recipient: str) -> DocumentKind:
    return DocumentKind(
        code=code,
        label=label,
        purpose=purpose,
        person_kinds=frozenset({PersonKind.EMPLOYEE}),
        relatives=False,
        recipient=recipient,
        source="printable sheet; the official form and filing-program layouts are unconfirmed",
        years=range(2016, 2100),
        input_help=_(
            "A CSV with a header row: employee code (社員番号), name (氏名), birth date "
            "(生年月日), date of acquisition or loss (年月日), remarks (備考)."
        ),
        read=read,
        write=_writer(form),
        provisional=True,
    )


EMPLOYMENT_ACQUISITION = _kind(
    "employment_insurance_acquisition",
    "雇用保険被保険者資格取得届",
    _("Employment insurance: acquisition of insured status"),
    Purpose.EMPLOYMENT_INSURANCE,
    Recipient.HELLO_WORK,
)
EMPLOYMENT_LOSS = _kind(
    "employment_insurance_loss",
    "雇用保険被保険者資格喪失届",
    _("Employment insurance: loss of insured status"),
    Purpose.EMPLOYMENT_INSURANCE,
    Recipient.HELLO_WORK,
)
HEALTH_PENSION_ACQUISITION = _kind(
    "health_pension_acquisition",
    "健康保険・厚生年金保険被保険者資格取得届",
    _("Health insurance and pension: acquisition of insured status"),
    Purpose.SOCIAL_INSURANCE,
    Recipient.PENSION_OFFICE,
)
