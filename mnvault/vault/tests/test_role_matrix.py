"""Every role × reveal / export / import / store: only handlers and responsible managers reach
numbers (domain R1); every refusal is audited and changes nothing (docs/architecture.md,
invariants 2, 3)."""

from __future__ import annotations

import pytest

from mnvault.audit.models import AuditEntry
from mnvault.companies.purposes import Purpose
from mnvault.conftest import ALL_DATABASES
from mnvault.people.csv_import import import_people
from mnvault.vault.errors import Refused
from mnvault.vault.models import DataKey, NumberRecord
from mnvault.vault.services import Verification, export_numbers, reveal_number, store_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

ALLOWED = ["handler", "responsible_manager"]
REFUSED = ["company_admin", "auditor", "staff", "installation_admin", "no_role", "other_handler"]
IN_PERSON = Verification(channel="in_person", document_kinds=["my_number_card"])


@pytest.fixture
def stored(personas, employee, make_number):
    number = make_number()
    store_number(
        acting_user=personas.handler,
        person=employee,
        number=number,
        purposes=[Purpose.WITHHOLDING],
        verification=IN_PERSON,
    )
    return number


def _reveal(personas, user, employee, number_factory, tmp_path):
    return reveal_number(acting_user=user, person=employee, purpose=Purpose.WITHHOLDING)


def _export(personas, user, employee, number_factory, tmp_path):
    return export_numbers(
        acting_user=user,
        company=personas.company,
        people=[employee],
        purpose=Purpose.WITHHOLDING,
        document="源泉徴収票",
    )


def _store(personas, user, employee, number_factory, tmp_path):
    return store_number(
        acting_user=user,
        person=employee,
        number=number_factory(),
        purposes=[Purpose.WITHHOLDING],
        verification=IN_PERSON,
    )


def _import(personas, user, employee, number_factory, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(f"姓,名,個人番号\n鈴木,花子,{number_factory()}\n", encoding="utf-8")
    return import_people(path, acting_user=user, company=personas.company)


OPERATIONS = {
    "number.reveal": _reveal,
    "number.export": _export,
    "number.store": _store,
    "number.import": _import,
}


def _snapshot():
    return (
        list(NumberRecord.objects.values_list("pk", "ciphertext", "updated_at")),
        list(DataKey.objects.values_list("pk", "wrapped")),
    )


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("role", REFUSED)
def test_role_is_refused_audited_and_changes_nothing(
    personas, employee, stored, make_number, tmp_path, role, operation
):
    user = getattr(personas, role)
    before, entries = _snapshot(), AuditEntry.objects.count()
    with pytest.raises(Refused):
        OPERATIONS[operation](personas, user, employee, make_number, tmp_path)
    assert _snapshot() == before
    assert AuditEntry.objects.count() == entries + 1
    last = AuditEntry.objects.latest("seq")
    assert (last.action, last.outcome, last.actor_id) == (operation, "refused", user.pk)
    assert last.reason in {"role", "other_company"}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("role", ALLOWED)
def test_role_is_allowed_and_audited(
    personas, employee, stored, make_number, tmp_path, role, operation
):
    user = getattr(personas, role)
    result = OPERATIONS[operation](personas, user, employee, make_number, tmp_path)
    if operation == "number.reveal":
        assert result == stored
    if operation == "number.export":
        assert result == [(employee, stored)]
    last = AuditEntry.objects.latest("seq")
    assert last.outcome == "ok" and last.actor_id == user.pk


def test_a_revoked_handler_is_refused(personas, employee, stored):
    from django.utils import timezone

    from mnvault.accounts.models import Membership

    Membership.objects.filter(user=personas.handler).update(revoked_at=timezone.now())
    with pytest.raises(Refused):
        reveal_number(acting_user=personas.handler, person=employee, purpose="withholding")


def test_a_handler_scoped_to_payees_cannot_reveal_an_employee(personas, employee, stored):
    from mnvault.accounts.models import Membership

    Membership.objects.filter(user=personas.handler).update(person_kinds=["payee"])
    with pytest.raises(Refused) as refused:
        reveal_number(acting_user=personas.handler, person=employee, purpose="withholding")
    assert refused.value.code == "scope"


def test_export_is_all_or_nothing_when_one_person_lacks_the_purpose(
    personas, employee, stored, make_number
):
    from mnvault.conftest import make_person

    other = make_person(personas.company, given_name="次郎")
    store_number(
        acting_user=personas.handler,
        person=other,
        number=make_number(),
        purposes=[Purpose.SOCIAL_INSURANCE],
        verification=IN_PERSON,
    )
    entries = AuditEntry.objects.count()
    with pytest.raises(Refused):
        export_numbers(
            acting_user=personas.handler,
            company=personas.company,
            people=[employee, other],
            purpose="withholding",
            document="源泉徴収票",
        )
    assert AuditEntry.objects.count() == entries + 1
    last = AuditEntry.objects.latest("seq")
    assert (last.outcome, last.person_id) == ("refused", other.pk)


@pytest.fixture
def api_actor(personas):
    from mnvault.accounts.services import create_api_client
    from mnvault.audit.actors import Actor

    client, token = create_api_client(
        acting_user=personas.responsible_manager, company=personas.company, name="給与ソフト"
    )
    assert token not in str(AuditEntry.objects.values_list("detail", flat=True))
    return client, Actor.of_api_client(client)


def test_an_api_client_reveals_as_a_handler(personas, employee, stored, api_actor):
    _client, actor = api_actor
    assert reveal_number(acting_user=actor, person=employee, purpose="withholding") == stored
    last = AuditEntry.objects.latest("seq")
    assert (last.actor_kind, last.actor_label, last.outcome) == ("api", "api:給与ソフト", "ok")


def test_a_revoked_api_client_is_refused(personas, employee, stored, api_actor):
    from django.utils import timezone

    client, actor = api_actor
    client.revoked_at = timezone.now()
    client.save()
    with pytest.raises(Refused):
        reveal_number(acting_user=actor, person=employee, purpose="withholding")
    assert AuditEntry.objects.latest("seq").outcome == "refused"


def test_an_api_client_cannot_reach_another_company(personas, api_actor, make_number):
    from mnvault.conftest import make_person

    other = make_person(personas.other_company)
    store_number(
        acting_user=personas.other_handler,
        person=other,
        number=make_number(),
        purposes=["withholding"],
        verification=IN_PERSON,
    )
    with pytest.raises(Refused):
        reveal_number(acting_user=api_actor[1], person=other, purpose="withholding")


@pytest.mark.parametrize("persona", ["handler", "company_admin", "installation_admin", "staff"])
def test_only_the_responsible_manager_creates_api_clients(personas, persona):
    from mnvault.accounts.models import ApiClient
    from mnvault.accounts.services import RoleRefused, create_api_client

    with pytest.raises(RoleRefused):
        create_api_client(
            acting_user=getattr(personas, persona), company=personas.company, name="x"
        )
    assert not ApiClient.objects.exists()
    assert AuditEntry.objects.latest("seq").outcome == "refused"
