"""Storing a number: validated, encrypted under the person's own key, bound to its record."""

from __future__ import annotations

import pytest

from mnvault.audit.models import AuditEntry
from mnvault.companies.purposes import Purpose
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.vault.errors import DecryptionFailed, DuplicateNumber, InvalidNumber, VaultError
from mnvault.vault.models import DataKey, NumberRecord
from mnvault.vault.services import Verification, reveal_number, store_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
IN_PERSON = Verification(channel="in_person", document_kinds=["my_number_card"])


def _store(personas, person, number, purposes=(Purpose.WITHHOLDING,)):
    return store_number(
        acting_user=personas.handler,
        person=person,
        number=number,
        purposes=list(purposes),
        verification=IN_PERSON,
    )


def test_it_stores_ciphertext_only_with_a_key_in_the_key_store(personas, employee, make_number):
    number = make_number()
    record = _store(personas, employee, number)
    assert number.encode() not in bytes(record.ciphertext)
    assert DataKey.objects.using("keys").filter(person_id=employee.pk).count() == 1
    assert record.channel == "in_person" and record.verified_on is not None
    entry = AuditEntry.objects.latest("seq")
    assert (entry.action, entry.person_id, entry.outcome) == ("number.store", employee.pk, "ok")


def test_each_person_has_a_data_key_of_their_own(personas, employee, make_number):
    other = make_person(personas.company, given_name="次郎")
    _store(personas, employee, make_number())
    _store(personas, other, make_number())
    wrapped = set(DataKey.objects.values_list("wrapped", flat=True))
    assert len(wrapped) == 2


def test_full_width_and_hyphens_are_normalised(personas, employee, make_number):
    number = make_number()
    typed = f"{number[:4]}－{number[4:8]}－{number[8:]}".translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    )
    _store(personas, employee, typed)
    assert reveal_number(acting_user=personas.handler, person=employee, purpose="withholding") == (
        number
    )


def test_a_bad_check_digit_is_refused_and_nothing_is_stored(personas, employee, make_number):
    number = make_number()
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    with pytest.raises(InvalidNumber) as refused:
        _store(personas, employee, wrong)
    assert wrong not in str(refused.value)
    assert not NumberRecord.objects.exists() and not DataKey.objects.exists()


def test_the_same_number_twice_in_one_company_is_refused(personas, employee, make_number):
    number = make_number()
    _store(personas, employee, number)
    with pytest.raises(DuplicateNumber):
        _store(personas, make_person(personas.company, given_name="次郎"), number)
    assert NumberRecord.objects.count() == 1


def test_the_same_number_in_two_companies_is_not_linked(personas, employee, make_number):
    number = make_number()
    mine = _store(personas, employee, number)
    theirs = store_number(
        acting_user=personas.other_handler,
        person=make_person(personas.other_company),
        number=number,
        purposes=["withholding"],
        verification=IN_PERSON,
    )
    assert mine.number_index is not None and theirs.number_index is not None
    assert bytes(mine.number_index) != bytes(theirs.number_index)


def test_a_purpose_the_company_does_not_notify_is_refused(personas, employee, make_number):
    with pytest.raises(VaultError) as refused:
        _store(personas, employee, make_number(), purposes=[Purpose.FEE_PAYMENT_RECORDS])
    assert refused.value.code == "purpose_not_notified_by_company"
    assert not NumberRecord.objects.exists()


def test_unknown_verification_values_are_refused():
    with pytest.raises(VaultError):
        Verification(channel="carrier pigeon")
    with pytest.raises(VaultError):
        Verification(channel="in_person", document_kinds=["個人番号通知書"])


@pytest.mark.parametrize("target", ["other_person", "other_company"])
def test_a_ciphertext_copied_onto_another_record_fails_closed(
    personas, employee, make_number, target
):
    company = personas.company if target == "other_person" else personas.other_company
    handler = personas.handler if target == "other_person" else personas.other_handler
    other = make_person(company, given_name="次郎")
    store_number(
        acting_user=handler,
        person=other,
        number=make_number(),
        purposes=["withholding"],
        verification=IN_PERSON,
    )
    source = _store(personas, employee, make_number())
    NumberRecord.objects.filter(person=other).update(ciphertext=source.ciphertext)
    with pytest.raises(DecryptionFailed):
        reveal_number(acting_user=handler, person=other, purpose="withholding")
    last = AuditEntry.objects.latest("seq")
    assert (last.outcome, last.reason) == ("failed", "decryption_failed")


def test_a_data_key_copied_onto_another_person_fails_closed(personas, employee, make_number):
    other = make_person(personas.company, given_name="次郎")
    _store(personas, employee, make_number())
    _store(personas, other, make_number())
    mine = DataKey.objects.get(person_id=employee.pk)
    DataKey.objects.filter(person_id=other.pk).update(wrapped=mine.wrapped)
    with pytest.raises(DecryptionFailed):
        reveal_number(acting_user=personas.handler, person=other, purpose="withholding")


def test_a_shredded_key_makes_the_number_unreadable(personas, employee, make_number):
    _store(personas, employee, make_number())
    DataKey.objects.filter(person_id=employee.pk).delete()
    with pytest.raises(VaultError):
        reveal_number(acting_user=personas.handler, person=employee, purpose="withholding")
