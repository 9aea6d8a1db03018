"""Opening accounts: only the company admin or the responsible manager, who then grant roles;
every creation and refusal audited; a taken name or a weak password changes nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from mnvault.accounts.models import Membership, User
from mnvault.accounts.services import RoleRefused, create_user
from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
GOOD_PASSWORD = "purple elephant marmalade 7"
REFUSED = ["handler", "auditor", "staff", "installation_admin", "no_role", "other_handler"]


def last_entry() -> AuditEntry:
    return AuditEntry.objects.latest("seq")


@pytest.mark.parametrize("persona", ["company_admin", "responsible_manager"])
def test_admin_and_manager_create_an_account_without_a_role(personas, persona):
    acting = getattr(personas, persona)
    user = create_user(
        acting_user=acting, company=personas.company, username="sato", password=GOOD_PASSWORD
    )
    user.refresh_from_db()
    assert user.check_password(GOOD_PASSWORD) and user.must_change_password
    assert not user.is_installation_admin
    assert not Membership.objects.filter(user=user).exists()
    entry = last_entry()
    assert (entry.action, entry.outcome, entry.actor_id, entry.company_id) == (
        "accounts.user.create",
        "ok",
        acting.pk,
        personas.company.pk,
    )
    assert entry.detail == {"user_id": user.pk}


@pytest.mark.parametrize("persona", REFUSED)
def test_everyone_else_is_refused_and_audited(personas, persona):
    acting = getattr(personas, persona)
    with pytest.raises(RoleRefused):
        create_user(
            acting_user=acting, company=personas.company, username="sato", password=GOOD_PASSWORD
        )
    assert not User.objects.filter(username="sato").exists()
    entry = last_entry()
    assert (entry.action, entry.outcome, entry.reason, entry.actor_id) == (
        "accounts.user.create",
        "refused",
        "grantor_role",
        acting.pk,
    )


def test_a_role_in_one_company_creates_nothing_for_another(personas):
    with pytest.raises(RoleRefused):
        create_user(
            acting_user=personas.company_admin,
            company=personas.other_company,
            username="sato",
            password=GOOD_PASSWORD,
        )
    assert not User.objects.filter(username="sato").exists()


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("sato", "short", "password"),
        ("sato", "password1234", "password"),  # common
        ("sato", "123456789012345", "password"),  # digits only
        ("handler", GOOD_PASSWORD, "username"),  # taken
        ("bad name!", GOOD_PASSWORD, "username"),
        ("", GOOD_PASSWORD, "username"),
    ],
)
def test_bad_input_changes_nothing(personas, username, password, field):
    users, entries = User.objects.count(), AuditEntry.objects.count()
    with pytest.raises(ValidationError) as invalid:
        create_user(
            acting_user=personas.company_admin,
            company=personas.company,
            username=username,
            password=password,
        )
    assert list(invalid.value.message_dict) == [field]
    assert User.objects.count() == users and AuditEntry.objects.count() == entries
