"""Every role granted, and every role revoked, has its audit entry: the check ``audit verify``
runs against the memberships (docs/threat-model.md)."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from mnvault.accounts.auditfacts import roles_accounted_for
from mnvault.accounts.models import Membership, Role
from mnvault.accounts.services import grant_role, revoke_role
from mnvault.audit.actions import Action
from mnvault.audit.models import AuditEntry, Outcome
from mnvault.conftest import ALL_DATABASES, log_role_grants

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture(autouse=True)
def english():
    """The messages in English, the language of the assertions (Japanese by default)."""
    with translation.override("en"):
        yield


@pytest.fixture
def logged(personas):
    log_role_grants(personas)
    return personas


def test_roles_granted_and_revoked_through_the_service_are_accounted_for(logged):
    membership = grant_role(
        acting_user=logged.responsible_manager,
        user=logged.no_role,
        company=logged.company,
        role=Role.HANDLER,
    )
    assert roles_accounted_for() is None
    revoke_role(acting_user=logged.responsible_manager, membership=membership)
    assert roles_accounted_for() is None


def test_a_role_made_past_the_service_is_named(logged):
    Membership.objects.create(user=logged.no_role, company=logged.company, role=Role.HANDLER)
    problem = roles_accounted_for()
    assert problem is not None
    assert f"role handler of user {logged.no_role.pk} in company {logged.company.pk}" in problem
    assert "grant" in problem


def test_a_revocation_past_the_service_is_named(logged):
    membership = Membership.objects.get(user=logged.handler)
    Membership.objects.filter(pk=membership.pk).update(revoked_at=timezone.now())
    problem = roles_accounted_for()
    assert problem is not None and "was revoked without an audit entry" in problem


def test_a_refused_grant_accounts_for_nothing(logged):
    entry = AuditEntry.objects.filter(
        action=Action.ACCOUNTS_ROLE_GRANT, detail__user_id=logged.auditor.pk
    ).get()
    AuditEntry.objects.filter(pk=entry.pk).update(outcome=Outcome.REFUSED)
    assert f"user {logged.auditor.pk} " in (roles_accounted_for() or "")


def test_a_grant_of_another_role_accounts_for_nothing(logged):
    entry = AuditEntry.objects.filter(
        action=Action.ACCOUNTS_ROLE_GRANT, detail__user_id=logged.auditor.pk
    ).get()
    AuditEntry.objects.filter(pk=entry.pk).update(
        detail={"user_id": logged.auditor.pk, "role": Role.HANDLER}
    )
    assert f"role auditor of user {logged.auditor.pk}" in (roles_accounted_for() or "")
