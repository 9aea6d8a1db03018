"""報酬、料金、契約金及び賞金の支払調書 (資料識別コード 309), from a simple CSV of payments per
payee: the e-Tax 法定調書 CSV and the tax office's PDF copy with the numbers, the payees'
copies without. Only the documents required by R34 are produced (``include``)."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO

from django.utils.translation import gettext_lazy as _

from mnvault.companies.purposes import Purpose
from mnvault.people.models import PersonKind
from mnvault.usage import jis, thresholds
from mnvault.usage.kinds import simple_csv
from mnvault.usage.kinds.base import Checked, Context, DocumentKind, InputRow, Sink
from mnvault.usage.layouts import etax_309
from mnvault.usage.models import Recipient
from mnvault.usage.pdf import payment as pdf
from mnvault.usage.reading import amount
from mnvault.usage.slips import Payer, PaymentNumbers, PaymentSlip

COLUMNS = (
    "code",
    "name",
    "kana",
    "birth_date",
    "address",
    "category",
    "detail",
    "amount",
    "tax",
    "remarks",
)
REQUIRED = ("code", "category", "amount")
NOT_JIS = _(
    "The %(column)s column has characters the tax office does not accept (outside JIS "
    "level 1 and 2)."
)
MISSING = {
    "name": _("The payee's name (氏名) is missing."),
    "address": _("The payee's address (住所) is missing: the tax office's record needs it."),
}


def read(lines: Iterable[tuple[int, list[str]]], year: int) -> Iterator[InputRow]:
    for line, values in simple_csv.read(lines, COLUMNS, REQUIRED):
        row = simple_csv.person_row(line, values, COLUMNS)
        for column in ("name", "address"):  # the record requires both (etax_309.FIELDS)
            if not values[COLUMNS.index(column)]:
                row.error = row.error or str(MISSING[column])
        for column in ("name", "address", "category", "detail", "remarks"):
            # What the record will carry, checked now rather than when the file is written.
            value = to_full_width(values[COLUMNS.index(column)])
            if any(not jis.is_jis(c) for c in value):
                row.error = row.error or str(NOT_JIS) % {"column": column}
        try:
            amount(values[COLUMNS.index("amount")])
            amount(values[COLUMNS.index("tax")])
        except ValueError as error:
            row.error = row.error or str(error)
        yield row


def slip(context: Context, row: Checked) -> PaymentSlip:
    field = dict(zip(COLUMNS, row.values, strict=True))
    return PaymentSlip(
        year=context.year,
        payer=Payer(name=context.company_name, address=context.company_address),
        payee_name=field["name"],
        payee_kana=field["kana"],
        payee_address=field["address"],
        payee_code=field["code"],
        category=field["category"],
        detail=field["detail"],
        amount=amount(field["amount"]),
        tax_withheld=amount(field["tax"]),
        remarks=field["remarks"],
        person_id=row.person_id,
    )


def include(context: Context, rows: list[Checked]) -> list[Checked]:
    """Rows of payees whose total in the row's category class passes R34's limit."""
    totals: dict[tuple[int, bool], int] = defaultdict(int)
    for row in rows:
        item = slip(context, row)
        totals[(row.person_id, thresholds.payment_required(item.category, 10**12))] += item.amount
    kept = []
    for row in rows:
        item = slip(context, row)
        high = thresholds.payment_required(item.category, 10**12)
        if thresholds.payment_required(item.category, totals[(row.person_id, high)]):
            kept.append(row)
    return kept


def write(
    context: Context, rows: list[Checked], numbers: Mapping[int, str], sink: Sink
) -> dict[str, Any]:
    slips = [slip(context, row) for row in rows]
    with sink(f"309_{context.year}_etax.csv") as handle:
        for item in slips:
            handle.write(jis.encode_row(etax_309.record(etax_fields(context, item, numbers))))
    with sink(f"309_{context.year}_tax_office.pdf") as handle:
        pdf.tax_office_copy(
            (
                (item, PaymentNumbers(numbers[item.person_id or 0], context.corporate_number))
                for item in slips
            ),
            handle,
        )
    filed = len(slips)
    threshold = thresholds.efiling_threshold(thresholds.filing_date(context.year))
    return {"documents": filed, "efiling_threshold": threshold, "efiling": filed >= threshold}


def etax_fields(context: Context, item: PaymentSlip, numbers: Mapping[int, str]) -> dict[str, str]:
    """The 309 record's fields (keys of ``etax_309.FIELDS``); texts in full width, as the
    record's 全角 fields require."""
    full = to_full_width
    return {
        "filer_address": full(context.company_address),
        "filer_name": full(context.company_name),
        "filer_phone": context.company_phone,
        "correction": "1" if context.correction else "0",
        "year": f"{context.year - 2018:02d}",  # 令和 (from 2019)
        "payee_address": full(item.payee_address),
        "payee_name": full(item.payee_name),
        "category": full(item.category),
        "detail": full(item.detail),
        "amount": str(item.amount),
        "tax": str(item.tax_withheld) if item.tax_withheld else "",
        "remarks": full(item.remarks),
        "payee_number": numbers[item.person_id or 0],
        "filer_number": context.corporate_number,
    }


# ASCII in the full-width form Shift_JIS (JIS X 0208) carries: most are U+FF01…U+FF5E, but
# JIS has no full-width hyphen-minus, tilde or straight quotes (e-Tax QA: use − 〜 ” ’).
_JIS_FULL_WIDTH_FALLBACK = {"-": "−", "~": "〜", '"': "”", "'": "’"}
_FULL_WIDTH = {
    chr(code): _JIS_FULL_WIDTH_FALLBACK.get(chr(code), chr(code + 0xFEE0))
    for code in range(0x21, 0x7F)
}
_FULL_WIDTH[" "] = "\u3000"


def to_full_width(text: str) -> str:
    """ASCII and half-width kana in their full-width JIS forms (the record's 全角 fields);
    other characters as they are (jis.encode_row reports any the file cannot carry)."""
    if any(0xFF61 <= ord(c) <= 0xFF9F for c in text):
        text = unicodedata.normalize("NFKC", text)
    return "".join(_FULL_WIDTH.get(c, c) for c in text)


def copies(context: Context, rows: list[Checked], out: BinaryIO) -> int:
    return pdf.recipient_copies((slip(context, row) for row in rows), out)


KIND = DocumentKind(
    code="payment_fees",
    label=_("Payment records for fees (309)"),
    purpose=Purpose.FEE_PAYMENT_RECORDS,
    person_kinds=frozenset({PersonKind.PAYEE}),
    relatives=False,
    recipient=Recipient.TAX_OFFICE,
    source="NTA 法定調書 レコードの内容及び記録要領 (309); see docs/formats.md",
    years=range(2019, 2100),  # 令和 years: the record's 年分 is 和暦
    provisional=etax_309.PROVISIONAL,
    needs_payer_address=True,
    input_help=_(
        "A CSV with a header row: payee code (支払先コード), name (氏名), category (区分), "
        "detail (細目), amount paid (支払金額), tax withheld (源泉徴収税額), remarks (摘要); "
        "optionally kana, birth date, address. One line per payment or per payee."
    ),
    read=read,
    write=write,
    copies=copies,
    include=include,
)
