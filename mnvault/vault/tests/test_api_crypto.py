"""AES-GCM sealing round-trips, and a ciphertext moved to another company, person or field
fails to open (docs/architecture.md, "Keys and encryption")."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mnvault.vault import api
from mnvault.vault.errors import DecryptionFailed

KEY = api.new_key()
ids = st.integers(min_value=1, max_value=2**40)
fields = st.sampled_from(["individual_number", "id_document", "other"])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=256), ids, ids, fields)
def test_seal_then_open_round_trips(plaintext, company, person, field):
    aad = api.field_aad(company, person, field)
    assert api.decrypt(KEY, api.encrypt(KEY, plaintext, aad), aad) == plaintext


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=64), ids, ids, fields, ids, ids, fields)
def test_a_ciphertext_copied_elsewhere_does_not_open(plaintext, c1, p1, f1, c2, p2, f2):
    assume((c1, p1, f1) != (c2, p2, f2))
    sealed = api.encrypt(KEY, plaintext, api.field_aad(c1, p1, f1))
    with pytest.raises(DecryptionFailed):
        api.decrypt(KEY, sealed, api.field_aad(c2, p2, f2))


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0, max_value=200))
def test_any_flipped_bit_fails_closed(plaintext, position):
    aad = api.field_aad(1, 1, "individual_number")
    sealed = bytearray(api.encrypt(KEY, plaintext, aad))
    position %= len(sealed)
    sealed[position] ^= 0x01
    with pytest.raises(DecryptionFailed):
        api.decrypt(KEY, bytes(sealed), aad)


def test_a_dek_wrapped_for_one_person_does_not_unwrap_for_another():
    kek, dek = api.new_key(), api.new_key()
    wrapped = api.encrypt(kek, dek, api.dek_aad(1, 10, "k1"))
    with pytest.raises(DecryptionFailed):
        api.decrypt(kek, wrapped, api.dek_aad(1, 11, "k1"))


def test_the_index_key_differs_per_company():
    secret = b"s" * 32
    one, two = api.company_index_key(secret, 1), api.company_index_key(secret, 2)
    assert api.number_index(one, "123456789018") != api.number_index(two, "123456789018")


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x02" + b"0" * 40, b"\x01" + b"0" * 12])
def test_malformed_ciphertext_is_an_error_not_a_fallback(blob):
    with pytest.raises(DecryptionFailed):
        api.decrypt(KEY, blob, b"aad")
