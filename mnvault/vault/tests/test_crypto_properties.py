"""AES-GCM sealing round-trips, and a ciphertext moved to another company, person or field
fails to open (docs/architecture.md, "Keys and encryption")."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mnvault.vault import crypto
from mnvault.vault.errors import DecryptionFailed

KEY = crypto.new_key()
ids = st.integers(min_value=1, max_value=2**40)
fields = st.sampled_from(["individual_number", "id_document", "other"])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=256), ids, ids, fields)
def test_seal_then_open_round_trips(plaintext, company, person, field):
    aad = crypto.field_aad(company, person, field)
    assert crypto.open_sealed(KEY, crypto.seal(KEY, plaintext, aad), aad) == plaintext


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=64), ids, ids, fields, ids, ids, fields)
def test_a_ciphertext_copied_elsewhere_does_not_open(plaintext, c1, p1, f1, c2, p2, f2):
    assume((c1, p1, f1) != (c2, p2, f2))
    sealed = crypto.seal(KEY, plaintext, crypto.field_aad(c1, p1, f1))
    with pytest.raises(DecryptionFailed):
        crypto.open_sealed(KEY, sealed, crypto.field_aad(c2, p2, f2))


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0, max_value=200))
def test_any_flipped_bit_fails_closed(plaintext, position):
    aad = crypto.field_aad(1, 1, "individual_number")
    sealed = bytearray(crypto.seal(KEY, plaintext, aad))
    position %= len(sealed)
    sealed[position] ^= 0x01
    with pytest.raises(DecryptionFailed):
        crypto.open_sealed(KEY, bytes(sealed), aad)


def test_a_dek_wrapped_for_one_person_does_not_unwrap_for_another():
    kek, dek = crypto.new_key(), crypto.new_key()
    wrapped = crypto.seal(kek, dek, crypto.dek_aad(1, 10, "k1"))
    with pytest.raises(DecryptionFailed):
        crypto.open_sealed(kek, wrapped, crypto.dek_aad(1, 11, "k1"))


def test_the_index_key_differs_per_company():
    secret = b"s" * 32
    one, two = crypto.company_index_key(secret, 1), crypto.company_index_key(secret, 2)
    assert crypto.number_index(one, "123456789018") != crypto.number_index(two, "123456789018")


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x02" + b"0" * 40, b"\x01" + b"0" * 12])
def test_malformed_ciphertext_is_an_error_not_a_fallback(blob):
    with pytest.raises(DecryptionFailed):
        crypto.open_sealed(KEY, blob, b"aad")
