"""Normalisation and validation agree with python-stdnum on any input (domain R39, R41), and
error messages never repeat the input."""

from __future__ import annotations

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.jp import in_

from mnvault.domain import numbers
from mnvault.vault.errors import InvalidNumber

DIGITS = "0123456789０１２３４５６７８９"
SEPARATORS = " -　－‐—\t"
# Mostly number-like text, with some arbitrary characters mixed in.
number_like = st.text(alphabet=DIGITS + SEPARATORS, min_size=0, max_size=20)
anything = st.one_of(number_like, st.text(max_size=20))


def _valid_numbers():
    body = st.text(alphabet="0123456789", min_size=11, max_size=11)
    return body.map(lambda b: b + in_.calc_check_digit(b))


@settings(max_examples=500, deadline=None)
@given(anything)
def test_validate_agrees_with_stdnum_on_any_input(text):
    try:
        result = numbers.validate(text)
    except InvalidNumber:
        assert not in_.is_valid(text)
    else:
        assert in_.is_valid(text)
        assert result == in_.compact(text)


@settings(max_examples=200, deadline=None)
@given(_valid_numbers(), st.sampled_from(["", " ", "-", "　", "－"]), st.booleans())
def test_formatted_and_full_width_numbers_normalise_to_the_same(number, sep, full_width):
    text = sep.join([number[:4], number[4:8], number[8:]])
    if full_width:
        text = text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert numbers.validate(text) == number


@settings(max_examples=200, deadline=None)
@given(_valid_numbers(), st.integers(min_value=1, max_value=9))
def test_a_wrong_check_digit_is_refused_without_repeating_the_input(number, shift):
    wrong = number[:-1] + str((int(number[-1]) + shift) % 10)
    with pytest.raises(InvalidNumber) as refused:
        numbers.validate(wrong)
    assert refused.value.code == "checksum"
    assert wrong not in str(refused.value) and wrong[:8] not in str(refused.value)


LENGTH = ("個人番号は12桁です。", "The individual number has 12 digits.")
FORMAT = ("個人番号は数字だけです。", "The individual number has digits only.")


@pytest.mark.parametrize(
    ("text", "code", "messages"),
    [
        ("12345678901", "length", LENGTH),
        ("1234567890123", "length", LENGTH),
        ("12345678901a", "format", FORMAT),
    ],
)
def test_each_kind_of_bad_input_gets_its_own_message(text, code, messages):
    with pytest.raises(InvalidNumber) as refused:
        numbers.validate(text)
    assert refused.value.code == code
    japanese, english = messages
    assert str(refused.value) == japanese  # the default language
    with translation.override("en"):  # translated when shown, not when raised
        assert str(refused.value) == english


def test_the_documented_examples_are_valid():
    assert numbers.validate("123456789018") == "123456789018"
    assert numbers.validate("6214 9832 0257") == "621498320257"


def test_non_text_is_refused():
    with pytest.raises(InvalidNumber):
        numbers.validate(123456789018)  # type: ignore[arg-type]
