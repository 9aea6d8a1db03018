"""The JIS X 0208 check: what e-Tax and eLTAX reject is reported with a suggestion, never
dropped or replaced silently."""

from __future__ import annotations

import pytest

from mnvault.usage import jis
from mnvault.usage.jis import CharProblem


def test_plain_kanji_kana_and_ascii_pass():
    assert jis.problems("山田太郎　やまだ　ヤマダ　ＡＢＣ abc 123 〜−") == []


@pytest.mark.parametrize(
    ("char", "suggestion"),
    [("髙", "高"), ("﨑", "崎"), ("德", "徳"), ("濵", "浜"), ("栁", "柳"), ("㈱", "（株）")],
)
def test_variant_characters_are_reported_with_the_standard_form(char, suggestion):
    assert jis.problems(f"田{char}") == [CharProblem(char, 1, suggestion)]


def test_a_character_beyond_jis_is_reported_without_a_suggestion():
    assert jis.problems("𠮷野") == [CharProblem("𠮷", 0, None)]


@pytest.mark.parametrize("char", ["①", "⑫", "Ⅰ", "ⅳ", "㈱", "髙", "﨑", "𠮷", "～"])
def test_the_codec_excludes_vendor_extensions(char):
    assert not jis.is_jis(char)


def test_circled_numbers_and_roman_numerals_get_full_width_text():
    found = jis.problems("①Ⅱ⑫")
    assert [p.suggestion for p in found] == ["（１）", "ＩＩ", "（１２）"]


def test_half_width_kana_is_reported_with_its_full_width_form_and_sound_mark_joined():
    found = jis.problems("ｶﾞｯｺｳ")
    assert found == [
        CharProblem("ｶﾞ", 0, "ガ"),
        CharProblem("ｯ", 2, "ッ"),
        CharProblem("ｺ", 3, "コ"),
        CharProblem("ｳ", 4, "ウ"),
    ]


def test_half_width_kana_passes_where_the_layout_demands_it():
    assert jis.problems("ﾔﾏﾀﾞ ﾀﾛｳ", allow_halfwidth_kana=True) == []


def test_nfkc_suggests_only_when_the_result_is_jis():
    assert jis.problems("㍻") == [CharProblem("㍻", 0, "平成")]
    assert jis.problems("½") == [CharProblem("½", 0, None)]  # NFKC gives 1⁄2, not JIS


def test_encode_row_round_trips_as_shift_jis():
    row = ["309", "東京都千代田区", "株式会社見本", "03-1234-5678", " "]
    encoded = jis.encode_row(row)
    assert encoded.endswith(b"\r\n")
    assert encoded.decode("shift_jis") == ",".join(row) + "\r\n"


def test_encode_row_lists_every_problem_of_every_column():
    with pytest.raises(jis.JisError) as caught:
        jis.encode_row(["髙橋", "ok", "𠮷田,一郎", "ｱ"])
    found = [(p.column, p.char, p.suggestion) for p in caught.value.problems]
    assert found == [
        (0, "髙", "高"),
        (2, "𠮷", None),
        (2, ",", "，"),
        (3, "ｱ", "ア"),
    ]
    assert "column 2" in str(caught.value) and "'𠮷'" in str(caught.value)


def test_encode_row_refuses_line_breaks_and_tabs_inside_a_value():
    with pytest.raises(jis.JisError) as caught:
        jis.encode_row(["一行目\r\n二行目", "a\tb"])
    assert [(p.column, p.char) for p in caught.value.problems] == [(0, "\r"), (0, "\n"), (1, "\t")]


def test_encode_row_finds_commas_and_control_characters_in_plain_ascii_values():
    # Printable ASCII cells skip the per-character check; these must still be caught.
    with pytest.raises(jis.JisError) as caught:
        jis.encode_row(["", "1,000", "ok", "a\x7fb", "a\x1bb"])
    assert [(p.column, p.char) for p in caught.value.problems] == [
        (1, ","),
        (3, "\x7f"),
        (4, "\x1b"),
    ]


def test_encode_row_allows_half_width_kana_only_in_named_columns():
    assert jis.encode_row(["ﾀﾛｳ", "太郎"], halfwidth_kana_columns={0}).decode("shift_jis")
    with pytest.raises(jis.JisError):
        jis.encode_row(["太郎", "ﾀﾛｳ"], halfwidth_kana_columns={0})


def test_a_reported_digit_is_not_shown_in_the_message(make_number):
    arabic_indic = "".join(chr(0x0660 + int(d)) for d in make_number())
    with pytest.raises(jis.JisError) as caught:
        jis.encode_row([arabic_indic])
    assert len(caught.value.problems) == 12
    assert not any(c in str(caught.value) for c in arabic_indic)
    assert "a non-JIS digit" in str(caught.value)
