"""Reveal: only a handler or responsible manager, only for a purpose notified to the person."""

from __future__ import annotations

import pytest

from mnvault.audit.models import AuditEntry
from mnvault.companies.purposes import Purpose
from mnvault.conftest import ALL_DATABASES
from mnvault.vault.errors import KeyUnavailable, Refused
from mnvault.vault.services import (
    Verification,
    notify_purposes,
    reveal_number,
    store_number,
)

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def stored(personas, employee, make_number):
    number = make_number()
    store_number(
        acting_user=personas.handler,
        person=employee,
        number=number,
        purposes=[Purpose.WITHHOLDING],
        verification=Verification(channel="in_person", document_kinds=["my_number_card"]),
    )
    return number


def test_handler_reveals_for_notified_purpose(personas, employee, stored):
    shown = reveal_number(acting_user=personas.handler, person=employee, purpose="withholding")
    assert shown == stored
    last = AuditEntry.objects.latest("seq")
    assert (last.action, last.outcome, last.person_id) == ("number.reveal", "ok", employee.pk)


def test_handler_without_purpose_cannot_reveal(personas, employee, stored):
    with pytest.raises(Refused):
        reveal_number(acting_user=personas.handler, person=employee, purpose="")
    assert AuditEntry.objects.latest("seq").reason == "no_purpose"


def test_purpose_notified_by_company_but_not_to_person_is_refused(personas, employee, stored):
    with pytest.raises(Refused) as refused:
        reveal_number(acting_user=personas.handler, person=employee, purpose="social_insurance")
    assert refused.value.code == "purpose_not_notified_to_person"
    last = AuditEntry.objects.latest("seq")
    assert (last.outcome, last.reason) == ("refused", "purpose_not_notified_to_person")


def test_reveal_of_person_without_number_fails_and_is_audited(personas, employee):
    notify_purposes(employee, ["withholding"])
    with pytest.raises(KeyUnavailable):
        reveal_number(acting_user=personas.handler, person=employee, purpose="withholding")
    last = AuditEntry.objects.latest("seq")
    assert (last.outcome, last.reason) == ("failed", "not_stored")
