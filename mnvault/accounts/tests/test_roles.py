"""Who may designate whom (domain R1, R2): every grant and refusal is audited."""

from __future__ import annotations

import pytest

from mnvault.accounts.models import Membership, Role
from mnvault.accounts.services import RoleRefused, grant_role, revoke_role
from mnvault.audit.models import AuditEntry
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

# (grantor persona, role granted) pairs that must succeed; every other pair is refused.
ALLOWED = {
    ("responsible_manager", Role.HANDLER),
    ("responsible_manager", Role.AUDITOR),
    ("responsible_manager", Role.STAFF),
    ("company_admin", Role.RESPONSIBLE_MANAGER),
    ("company_admin", Role.STAFF),
    ("company_admin", Role.COMPANY_ADMIN),
    ("installation_admin", Role.COMPANY_ADMIN),
    ("installation_admin", Role.RESPONSIBLE_MANAGER),
}
GRANTORS = [*Role.values, "installation_admin", "no_role", "other_handler"]
CASES = [(g, r) for g in GRANTORS for r in Role.values]


@pytest.mark.parametrize(("grantor", "role"), CASES)
def test_only_the_right_grantor_may_grant_each_role(personas, grantor, role):
    acting, target = getattr(personas, grantor), personas.no_role
    if (grantor, role) in ALLOWED:
        membership = grant_role(
            acting_user=acting, user=target, company=personas.company, role=role
        )
        assert membership.granted_by == acting and membership.revoked_at is None
        outcome = "ok"
    else:
        with pytest.raises(RoleRefused):
            grant_role(acting_user=acting, user=target, company=personas.company, role=role)
        assert not Membership.objects.filter(user=target).exists()
        outcome = "refused"
    entry = AuditEntry.objects.latest("seq")
    assert (entry.action, entry.outcome, entry.actor_id) == (
        "accounts.role.grant",
        outcome,
        acting.pk,
    )
    assert entry.detail == {"user_id": target.pk, "role": role}


def test_a_handler_cannot_make_themselves_responsible_manager(personas):
    with pytest.raises(RoleRefused):
        grant_role(
            acting_user=personas.handler,
            user=personas.handler,
            company=personas.company,
            role=Role.RESPONSIBLE_MANAGER,
        )


def test_revoking_keeps_the_history_and_is_audited(personas):
    membership = Membership.objects.get(user=personas.handler)
    revoke_role(acting_user=personas.responsible_manager, membership=membership)
    membership.refresh_from_db()
    assert membership.revoked_at is not None
    assert AuditEntry.objects.latest("seq").action == "accounts.role.revoke"


def test_staff_cannot_revoke_a_handler(personas):
    membership = Membership.objects.get(user=personas.handler)
    with pytest.raises(RoleRefused):
        revoke_role(acting_user=personas.staff, membership=membership)
    membership.refresh_from_db()
    assert membership.revoked_at is None
    assert AuditEntry.objects.latest("seq").outcome == "refused"


def test_a_role_in_one_company_grants_nothing_in_another(personas):
    with pytest.raises(RoleRefused):
        grant_role(
            acting_user=personas.responsible_manager,
            user=personas.no_role,
            company=personas.other_company,
            role=Role.HANDLER,
        )


@pytest.mark.parametrize(
    ("grantor", "role"),
    [
        ("company_admin", Role.RESPONSIBLE_MANAGER),
        ("installation_admin", Role.RESPONSIBLE_MANAGER),
        ("responsible_manager", Role.HANDLER),
    ],
)
def test_nobody_grants_themselves_a_role(personas, grantor, role):
    acting = getattr(personas, grantor)
    with pytest.raises(RoleRefused):
        grant_role(acting_user=acting, user=acting, company=personas.company, role=role)
    assert not Membership.objects.filter(user=acting, role=role).exclude(role=grantor).exists()
    assert AuditEntry.objects.latest("seq").outcome == "refused"


@pytest.mark.parametrize(
    ("grantor", "role"),
    [("company_admin", Role.RESPONSIBLE_MANAGER), ("responsible_manager", Role.HANDLER)],
)
def test_the_installation_admin_is_never_given_a_number_role(personas, grantor, role):
    with pytest.raises(RoleRefused):
        grant_role(
            acting_user=getattr(personas, grantor),
            user=personas.installation_admin,
            company=personas.company,
            role=role,
        )
    assert not Membership.objects.filter(user=personas.installation_admin).exists()


def test_a_user_name_can_never_be_a_number(personas, make_number):
    from django.core.exceptions import ValidationError

    from mnvault.accounts.services import create_installation_admin, create_user

    number = make_number()
    with pytest.raises(ValidationError) as refused:
        create_user(
            acting_user=personas.company_admin,
            company=personas.company,
            username=number,
            password="tulip cobalt harbour 91",
        )
    assert number not in str(refused.value)
    with pytest.raises(ValueError) as refused_too:
        create_installation_admin(username=number, email="", password="tulip cobalt harbour 91")
    assert number not in str(refused_too.value)


def test_a_full_name_can_never_be_a_number(personas, make_number):
    from django.core.exceptions import ValidationError

    from mnvault.accounts.models import User
    from mnvault.accounts.services import create_installation_admin, create_user

    number = make_number()
    with pytest.raises(ValidationError) as refused:
        create_user(
            acting_user=personas.company_admin,
            company=personas.company,
            username="suzuki",
            password="tulip cobalt harbour 91",
            full_name=number,
        )
    assert list(refused.value.message_dict) == ["full_name"]
    assert number not in str(refused.value)
    with pytest.raises(ValueError) as refused_too:
        create_installation_admin(
            username="kanri", email="", password="tulip cobalt harbour 91", full_name=number
        )
    assert number not in str(refused_too.value)
    assert not User.objects.filter(username__in=["suzuki", "kanri"]).exists()
