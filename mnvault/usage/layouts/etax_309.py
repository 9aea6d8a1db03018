"""The e-Tax / optical-disc record for 309 「報酬、料金、契約金及び賞金の支払調書」 (domain R34,
R42): one line per 調書, fields in the order below.

**PROVISIONAL LAYOUT.** The NTA's 「レコードの内容及び記録要領」 for 309 (linked from
nta.go.jp/taxes/tetsuzuki/shinsei/hoteichosho/06.htm, "PDF/62KB") could not be read from here:
the stored copies of 06.htm list it but not its text, and no mirror or program with its item
table was found. What the order rests on:

- Items 1–12 (kind … recipient's address): the NTA 375 記録要領 (read in a mirror of the NTA PDF)
  has exactly these, and every NTA 記録要領 seen starts with the same 提出義務者 block; 309 is
  assumed to share it. Widths and 全角/半角 for items 1–11 are those of 375.
- Items 13–21: the boxes of the paper 309 form (支払を受ける者 住所・氏名, 区分, 細目, 支払金額
  with its 未払 part, 源泉徴収税額 with its 未徴収 part, 摘要), in the form's order. The
  国外住所表示 flag is assumed by analogy with 375 and 315. Widths here are **guesses**
  (amounts: 10 half-width digits as in 375; texts: the widths of comparable 375 items).
- Items 22–23, the numbers: the paper form has 「個人番号又は法人番号」 for both 支払を受ける者 and
  支払者 (seen in a copy of the 令和 form). The NTA added number fields at the end of existing
  records in 2016 (as the 315 record shows), so they are put last here. **Their positions are
  unconfirmed.**

Confirmed (nta.go.jp …/hoteichosho/05.htm, via docs/formats.md): one line per 調書, no header
or trailer, half-width commas only between fields, no thousands separators, and the last field
holds at least one character (a space) even when empty.

Do not file with this layout until it has been checked against the 309 PDF; the checks in
``record`` only enforce what this table says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

RECORD_CODE = "309"
PROVISIONAL = True  # flip only after checking every item against the NTA 309 記録要領


@dataclass(frozen=True)
class Field:
    key: str
    name: str  # the item name as the NTA 記録要領 would give it
    width: int  # maximum characters
    full_width: bool  # 全角 (True) or 半角 (False)
    required: bool


FIELDS: tuple[Field, ...] = (
    Field("kind", "法定資料の種類", 3, False, True),  # always "309"
    Field("reference_1", "整理番号1", 10, False, False),
    Field("branch", "本支店等区分番号", 5, False, False),
    Field("filer_address", "提出義務者の住所(居所)又は所在地", 60, True, True),
    Field("filer_name", "提出義務者の氏名又は名称", 30, True, True),
    Field("filer_phone", "提出義務者の電話番号", 15, False, False),
    Field("reference_2", "整理番号2", 13, False, False),
    Field("submitter_address", "提出者の住所(居所)又は所在地", 60, True, False),  # left blank
    Field("submitter_name", "提出者の氏名又は名称", 30, True, False),  # left blank
    Field("correction", "訂正表示", 1, False, True),  # 0 normal, 1 correction (as in 375)
    Field("year", "年分", 2, False, True),  # 和暦, "06" for 令和6年
    Field("payee_address", "支払を受ける者 住所(居所)又は所在地", 60, True, True),
    Field("payee_abroad", "支払を受ける者 国外住所表示", 1, False, False),  # assumed
    Field("payee_name", "支払を受ける者 氏名又は名称", 30, True, True),
    Field("category", "区分", 15, True, True),  # width a guess
    Field("detail", "細目", 15, True, False),  # width a guess
    Field("amount", "支払金額", 10, False, True),  # width a guess
    Field("amount_unpaid", "支払金額 未払金額", 10, False, False),
    Field("tax", "源泉徴収税額", 10, False, False),
    Field("tax_unwithheld", "源泉徴収税額 未徴収税額", 10, False, False),
    Field("remarks", "摘要", 60, True, False),  # width a guess
    Field("payee_number", "支払を受ける者 個人番号又は法人番号", 13, False, False),  # position?
    Field("filer_number", "提出義務者 個人番号又は法人番号", 13, False, False),  # position?
)

# The fields that carry a number (R31: none of them on a copy handed to the payee).
PAYEE_NUMBER_FIELD = "payee_number"
FILER_NUMBER_FIELD = "filer_number"
NUMBER_FIELDS: tuple[str, ...] = (PAYEE_NUMBER_FIELD, FILER_NUMBER_FIELD)

_BY_KEY = {f.key: f for f in FIELDS}


def number_columns() -> list[int]:
    return [i for i, f in enumerate(FIELDS) if f.key in NUMBER_FIELDS]


class RecordError(ValueError):
    """Names the fields at fault, never their values (a value may be a number)."""


def _is_half_width(text: str) -> bool:
    return all(" " <= ch <= "~" or 0xFF61 <= ord(ch) <= 0xFF9F for ch in text)


def _is_full_width(text: str) -> bool:
    return not any(" " <= ch <= "~" or 0xFF61 <= ord(ch) <= 0xFF9F for ch in text)


def _faults(field: Field, value: str) -> list[str]:
    faults = []
    if field.required and not value.strip():
        faults.append(f"{field.key} ({field.name}) is required")
    if len(value) > field.width:
        faults.append(f"{field.key} ({field.name}) is longer than {field.width} characters")
    ok = _is_full_width(value) if field.full_width else _is_half_width(value)
    if not ok:
        kind = "全角 (full-width)" if field.full_width else "半角 (half-width)"
        faults.append(f"{field.key} ({field.name}) must be {kind}")
    return faults


def record(fields: Mapping[str, str]) -> list[str]:
    """One 309 row in field order; ``kind`` defaults to "309", absent fields are empty, and an
    empty last field becomes one space (05.htm). Character-set checks are jis.encode_row's."""
    unknown = sorted(set(fields) - set(_BY_KEY))
    if unknown:
        raise RecordError(f"unknown 309 fields: {', '.join(unknown)}")
    values = {"kind": RECORD_CODE, **fields}
    faults = [fault for f in FIELDS for fault in _faults(f, values.get(f.key, ""))]
    if values["kind"] != RECORD_CODE:
        faults.append(f"kind must be {RECORD_CODE}")
    if faults:
        raise RecordError("; ".join(faults))
    row = [values.get(f.key, "") for f in FIELDS]
    if row[-1] == "":
        row[-1] = " "
    return row
