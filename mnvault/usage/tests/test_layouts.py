"""Self-consistency of the file layouts (they cannot prove a position right — only the official
specifications can — but they catch a typo that would put a number in the wrong column)."""

from __future__ import annotations

import random

import pytest
from stdnum.jp import cn

from mnvault.usage import jis
from mnvault.usage.layouts import etax_309, unified_csv
from mnvault.usage.layouts.unified_csv import UnifiedCsvLayout


@pytest.fixture(params=sorted(unified_csv.LAYOUTS))
def layout(request) -> UnifiedCsvLayout:
    return unified_csv.layout_for(request.param)


def test_it_gives_each_field_its_own_column_within_the_record(layout):
    columns = layout.named_columns()
    assert len(set(columns.values())) == len(columns), "two fields share a column"
    assert all(0 <= index < layout.width for index in columns.values())


def test_it_puts_the_creation_kind_last(layout):
    assert layout.creation_kind == layout.width - 1


def test_number_columns_are_distinct_and_cover_every_relative(layout):
    numbers = unified_csv.number_columns(layout)
    assert len(numbers) == len(set(numbers)) == 2 + 1 + 4 + 4 + 2
    assert layout.recipient_number in numbers and layout.payer_corporate_number in numbers
    for relative in (layout.spouse, *layout.dependents, *layout.under_16):
        assert relative.number in numbers
        assert relative.name not in numbers and relative.kana not in numbers


def test_it_lists_four_dependents_and_four_under_16_in_consecutive_blocks(layout):
    blocks = (layout.spouse, *layout.dependents, *layout.under_16)
    flat = [i for block in blocks for i in block.indexes()]
    assert flat == list(range(flat[0], flat[0] + 36))


def test_reiwa_7_adds_three_specific_relative_columns_before_the_creation_kind():
    r6, r7 = unified_csv.layout_for(2024), unified_csv.layout_for(2025)
    assert r7.width == r6.width + 3
    assert r6.specific_relatives == ()
    assert r7.specific_relatives == (r6.creation_kind, r6.creation_kind + 1, r6.creation_kind + 2)
    assert unified_csv.number_columns(r6) == unified_csv.number_columns(r7)


def test_an_unchecked_year_is_refused_with_the_known_years():
    with pytest.raises(unified_csv.UnsupportedYear, match=r"2023 .*known: 2024, 2025"):
        unified_csv.layout_for(2023)


def test_a_filled_unified_row_round_trips_through_the_jis_encoder(layout, make_number):
    row = [""] * layout.width
    row[layout.record_code] = unified_csv.RECORD_CODE
    row[layout.recipient_name] = "山田　太郎"
    row[layout.kana_name] = "ﾔﾏﾀﾞ ﾀﾛｳ"
    row[layout.recipient_number] = make_number()
    row[layout.birth_era] = unified_csv.ERA_CODES["昭和"]
    encoded = jis.encode_row(row, halfwidth_kana_columns={layout.kana_name})
    decoded = encoded.decode("shift_jis").removesuffix("\r\n").split(",")
    assert decoded == row
    assert decoded[layout.recipient_number] == row[layout.recipient_number]


def _payee_fields(payee_number: str, filer_number: str) -> dict[str, str]:
    return {
        "filer_address": "東京都千代田区霞が関３−１−１",
        "filer_name": "株式会社見本",
        "correction": "0",
        "year": "06",
        "payee_address": "大阪府大阪市北区１−２−３",
        "payee_name": "原稿　書子",
        "category": "原稿料",
        "amount": "120000",
        "tax": "12252",
        "payee_number": payee_number,
        "filer_number": filer_number,
    }


def test_309_record_puts_fields_in_layout_order(make_number):
    payee = make_number()
    filer = cn.calc_check_digit("123456789012") + "123456789012"
    row = etax_309.record(_payee_fields(payee, filer))
    assert len(row) == len(etax_309.FIELDS)
    assert row[0] == "309"
    keys = [f.key for f in etax_309.FIELDS]
    assert row[keys.index("amount")] == "120000"
    assert [row[i] for i in etax_309.number_columns()] == [payee, filer]


def test_309_record_ends_with_a_space_when_the_last_field_is_empty(make_number):
    fields = _payee_fields(make_number(), "")
    row = etax_309.record(fields)
    assert row[-1] == " "
    assert jis.encode_row(row).endswith(b", \r\n")


def test_309_record_names_faulty_fields_without_showing_values(make_number):
    payee = make_number()
    fields = _payee_fields(payee, "") | {"payee_number": payee + "99", "amount": "１２０"}
    del fields["payee_name"]
    with pytest.raises(etax_309.RecordError) as caught:
        etax_309.record(fields)
    message = str(caught.value)
    assert "payee_name" in message and "payee_number" in message and "amount" in message
    assert payee not in message


def test_309_record_refuses_an_unknown_field():
    with pytest.raises(etax_309.RecordError, match="unknown 309 fields: colour"):
        etax_309.record({"colour": "red"})


def test_309_layout_is_marked_provisional_and_its_number_fields_exist():
    assert etax_309.PROVISIONAL
    keys = [f.key for f in etax_309.FIELDS]
    assert len(keys) == len(set(keys))
    assert set(etax_309.NUMBER_FIELDS) <= set(keys)
    assert len(etax_309.number_columns()) == 2


def test_generated_corporate_number_is_valid(rng: random.Random):
    base = "".join(str(rng.randrange(10)) for _ in range(12))
    assert cn.is_valid(cn.calc_check_digit(base) + base)
