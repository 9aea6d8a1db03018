"""給与所得の源泉徴収票 and 給与支払報告書, from the eLTAX 統一CSV that payroll software exports
with the number columns empty: the same file filled in (one upload to eLTAX makes both the
municipal report and the e-Tax slip, domain R43), the tax office's PDF copies for the slips R33
sends there, and the employees' copies without any number or the payer's 法人番号 (R31, R32).

Columns come from ``layouts.unified_csv`` (positions partly unconfirmed: see its docstring)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any, BinaryIO

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mnvault.companies.purposes import Purpose
from mnvault.people.models import PersonKind
from mnvault.usage import jis, thresholds
from mnvault.usage.kinds.base import (
    Checked,
    Context,
    DocumentKind,
    InputRow,
    RelativeRef,
    Sink,
)
from mnvault.usage.layouts import unified_csv
from mnvault.usage.layouts.unified_csv import RelativeColumns, UnifiedCsvLayout
from mnvault.usage.models import Recipient
from mnvault.usage.pdf import withholding as pdf
from mnvault.usage.reading import amount, optional_amount
from mnvault.usage.slips import Payer, Relative, WithholdingNumbers, WithholdingSlip

# First year of each era, for the 和暦 birth dates of the 統一CSV (codes: unified_csv.ERA_CODES).
ERA_START = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019}
ERA_BY_CODE = {code: ERA_START[name] for name, code in unified_csv.ERA_CODES.items()}
REIWA_START = ERA_START["令和"]
PDF_BATCH = 1000


def slots(layout: UnifiedCsvLayout) -> list[tuple[RelativeColumns, bool, bool]]:
    """(columns, is spouse, is under 16) of every relative slot, in the order relatives are
    kept on a run row (empty slots skipped)."""
    return [
        (layout.spouse, True, False),
        *((c, False, False) for c in layout.dependents),
        *((c, False, True) for c in layout.under_16),
    ]


def _filled(values: list[str], columns: RelativeColumns) -> bool:
    return bool(values[columns.name].strip() or values[columns.kana].strip())


def _wareki_date(era: str, year: str, month: str, day: str) -> date | None:
    if not (era.strip() and year.strip()):
        return None
    start = ERA_BY_CODE.get(era.strip())
    if start is None:
        raise ValueError(_("Unknown era code in the birth date."))
    try:
        return date(start + int(year) - 1, int(month), int(day))
    except ValueError:
        raise ValueError(_("The birth date is not a date.")) from None


def read(lines: Iterable[tuple[int, list[str]]], year: int) -> Iterator[InputRow]:
    layout = unified_csv.layout_for(year)
    for line, values in lines:
        yield _read_row(layout, year, line, values)


def _read_row(layout: UnifiedCsvLayout, year: int, line: int, values: list[str]) -> InputRow:
    if len(values) != layout.width or values[layout.record_code].strip() != "315":
        row = InputRow(line=line, values=values[: layout.width])
        row.error = _(
            "Not a 統一CSV record of %(label)s: expected %(width)d columns starting with 315 "
            "(no header row)."
        ) % {"label": layout.label, "width": layout.width}
        return row
    row = InputRow(
        line=line,
        values=values,
        code=values[layout.employee_code].strip(),
        name=values[layout.recipient_name].strip(),
        kana=values[layout.kana_name].strip(),
    )
    try:
        row.birth_date = _wareki_date(
            values[layout.birth_era],
            values[layout.birth_year],
            values[layout.birth_month],
            values[layout.birth_day],
        )
        amount(values[layout.payment_amount])
        amount(values[layout.tax_withheld])
    except ValueError as error:
        row.error = str(error)
    if values[layout.year].strip() and values[layout.year].strip().lstrip("0") != str(
        year - REIWA_START + 1
    ):
        row.error = _("The row is for another year than the run.")
    for columns, spouse, under_16 in slots(layout):
        if _filled(values, columns):
            row.relatives.append(
                RelativeRef(
                    name=values[columns.name].strip(),
                    kana=values[columns.kana].strip(),
                    category=values[columns.category].strip(),
                    under_16=under_16,
                    spouse=spouse,
                )
            )
    return row


def _relatives(layout: UnifiedCsvLayout, row: Checked) -> list[tuple[RelativeColumns, Relative]]:
    found = []
    filled = [(c, s, u) for c, s, u in slots(layout) if _filled(row.values, c)]
    for (columns, _spouse, under_16), person_id in zip(filled, row.relatives, strict=True):
        found.append(
            (
                columns,
                Relative(
                    name=row.values[columns.name],
                    kana=row.values[columns.kana],
                    category=row.values[columns.category],
                    under_16=under_16,
                    person_id=person_id,
                ),
            )
        )
    return found


def slip(context: Context, row: Checked) -> WithholdingSlip:
    layout = unified_csv.layout_for(context.year)
    v = row.values
    relatives = _relatives(layout, row)
    spouse = next((r for c, r in relatives if c == layout.spouse), None)
    left = v[layout.mid_year_kind].strip() == unified_csv.MID_YEAR_KINDS["left"]
    return WithholdingSlip(
        year=context.year,
        payer=Payer(
            name=v[layout.payer_name] or context.company_name,
            address=v[layout.payer_address],
            phone=v[layout.payer_phone],
        ),
        recipient_name=v[layout.recipient_name],
        recipient_kana=v[layout.kana_name],
        recipient_address=v[layout.recipient_address],
        recipient_title=v[layout.recipient_title],
        employee_code=v[layout.employee_code],
        birth_date=_wareki_date(
            v[layout.birth_era], v[layout.birth_year], v[layout.birth_month], v[layout.birth_day]
        ),
        payment_kind=v[layout.payment_kind] or "給料・賞与",
        payment_amount=amount(v[layout.payment_amount]),
        after_deduction=optional_amount(v[layout.after_deduction]),
        deductions_total=optional_amount(v[layout.deductions_total]),
        tax_withheld=amount(v[layout.tax_withheld]),
        social_insurance=optional_amount(v[layout.social_insurance]),
        spouse=spouse,
        dependents=tuple(r for c, r in relatives if c != layout.spouse),
        remarks=v[layout.remarks],
        left_on=_mid_year(context.year, layout, v) if left else None,
        year_end_adjusted=not left,
        person_id=row.person_id,
    )


def _mid_year(year: int, layout: UnifiedCsvLayout, v: list[str]) -> date | None:
    try:
        return date(year, int(v[layout.mid_year_month]), int(v[layout.mid_year_day]))
    except ValueError:
        return None


def to_tax_office(item: WithholdingSlip) -> bool:
    return thresholds.withholding_to_tax_office(
        item.payment_amount,
        officer=bool(item.recipient_title.strip()),
        adjusted=item.year_end_adjusted,
        left=item.left_on is not None,
    )


def filled_row(
    context: Context, row: Checked, numbers: Mapping[int, str], *, to_office: bool
) -> list[str]:
    """The input line with the numbers in their columns (and the blanks this run decides)."""
    layout = unified_csv.layout_for(context.year)
    values = list(row.values)
    values[layout.payer_corporate_number] = context.corporate_number
    values[layout.recipient_number] = numbers[row.person_id]
    for columns, relative in _relatives(layout, row):
        if relative.person_id is not None:
            values[columns.number] = numbers[relative.person_id]
    if not values[layout.creation_kind].strip():
        kinds = unified_csv.CREATION_KINDS
        values[layout.creation_kind] = kinds["both"] if to_office else kinds["local_only"]
    if context.correction:
        values[layout.submission_kind] = unified_csv.SUBMISSION_KINDS[
            "correction" if context.correction == "correction" else "cancel"
        ]
    return values


def write(
    context: Context, rows: list[Checked], numbers: Mapping[int, str], sink: Sink
) -> dict[str, Any]:
    layout = unified_csv.layout_for(context.year)
    office: list[tuple[Checked, WithholdingSlip]] = []
    with sink(f"315_{context.year}_unified.csv") as handle:
        for row in rows:
            item = slip(context, row)  # once a row: the PDFs below reuse it
            to_office = to_tax_office(item)
            if to_office:
                office.append((row, item))
            filled = filled_row(context, row, numbers, to_office=to_office)
            handle.write(jis.encode_row(filled, halfwidth_kana_columns={layout.kana_name}))
    # One PDF per PDF_BATCH slips: reportlab holds a document's pages until it is saved, so
    # batches keep memory bounded however large the company.
    for start in range(0, len(office), PDF_BATCH):
        batch = office[start : start + PDF_BATCH]
        with sink(f"gensen_{context.year}_tax_office_{start // PDF_BATCH + 1:03d}.pdf") as handle:
            pdf.tax_office_copy(
                ((item, _numbers(context, row, item, numbers)) for row, item in batch), handle
            )
    threshold = thresholds.efiling_threshold(thresholds.filing_date(context.year))
    return {
        "documents": len(rows),
        "tax_office": len(office),
        "efiling_threshold": threshold,
        "efiling": len(office) >= threshold,
    }


def _numbers(
    context: Context, row: Checked, item: WithholdingSlip, numbers: Mapping[int, str]
) -> WithholdingNumbers:
    return WithholdingNumbers(
        recipient=numbers[row.person_id],
        payer_corporate_number=context.corporate_number,
        spouse=_number_of(item.spouse, numbers),
        dependents=tuple(
            numbers.get(r.person_id) if r.person_id is not None else None for r in item.dependents
        ),
    )


def _number_of(relative: Relative | None, numbers: Mapping[int, str]) -> str | None:
    if relative is None or relative.person_id is None:
        return None
    return numbers.get(relative.person_id)


def copies(context: Context, rows: list[Checked], out: BinaryIO) -> int:
    return pdf.recipient_copies((slip(context, row) for row in rows), out)


KIND = DocumentKind(
    code="withholding",
    label=gettext_lazy("Withholding slips and salary payment reports (unified CSV)"),
    purpose=Purpose.WITHHOLDING,
    person_kinds=frozenset({PersonKind.EMPLOYEE}),
    relatives=True,
    recipient=Recipient.ELTAX,
    source="eLTAX 統一CSV (315), see mnvault/usage/layouts/unified_csv.py and docs/formats.md",
    years=range(min(unified_csv.LAYOUTS), max(unified_csv.LAYOUTS) + 1),
    input_help=gettext_lazy(
        "The 給与支払報告書・源泉徴収票 統一CSV exported by the payroll software with the "
        "number columns empty (no header row)."
    ),
    read=read,
    write=write,
    copies=copies,
    halfwidth_kana=lambda year: frozenset({unified_csv.layout_for(year).kana_name}),
    provisional=True,
)
