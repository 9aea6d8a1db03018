"""Actions on users and roles. Each writes its audit entry in its own transaction
(docs/architecture.md, "Audit log": every change of who may reach a number is recorded)."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from mnvault.accounts.models import ApiClient, Membership, Role, User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.companies.models import Company
from mnvault.domain import numbers
from mnvault.domain.roles import (
    GRANT_CAPABILITY,
    INSTALLATION_ADMIN_APPOINTS,
    Capability,
    can,
    reaches_numbers,
    roles_with,
)


class RoleRefused(PermissionError):
    pass


def create_installation_admin(
    *,
    username: str,
    email: str,
    password: str,
    must_change_password: bool = False,
    full_name: str = "",
) -> User:
    if numbers.holds_number(username):
        raise ValueError(gettext("A user name cannot be an individual number."))
    if numbers.holds_number(full_name):
        raise ValueError(gettext("A full name cannot be an individual number."))
    if User.objects.filter(username=username).exists():
        raise ValueError(gettext("The user %(name)s already exists.") % {"name": username})
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, email=email, password=password, first_name=full_name.strip()
        )
        user.is_installation_admin = True
        user.must_change_password = must_change_password
        user.save(update_fields=["is_installation_admin", "must_change_password"])
        audit.record(
            actor=Actor.system("cli"),
            action=Action.ACCOUNTS_INSTALLATION_ADMIN_CREATE,
            detail={"user_id": user.pk},
        )
    return user


def create_user(
    *, acting_user: User, company: Company, username: str, password: str, full_name: str = ""
) -> User:
    """A new account with no role, for a person the company admin or the responsible manager
    will then grant roles to (one person, one account: domain R2). Refused for anyone else,
    and audited either way; a taken name or a weak password raise ValidationError keyed by
    field, with nothing created. ``full_name`` is kept whole in ``first_name`` (a Japanese
    name is written family name first, so it is not split), for the pages and the ledger.
    Accounts belong to the installation, not to one company, so
    that an accountant can serve several client companies with one account."""
    allowed = Membership.objects.filter(
        user=acting_user,
        company=company,
        role__in=roles_with(Capability.USERS_CREATE),
        revoked_at__isnull=True,
    ).exists()
    if not allowed:
        with transaction.atomic():
            audit.record(
                actor=Actor.of(acting_user),
                action=Action.ACCOUNTS_USER_CREATE,
                outcome="refused",
                reason="grantor_role",
                company_id=company.pk,
            )
        raise RoleRefused(gettext("You may not create users."))
    user = User(username=username, first_name=full_name.strip())
    try:
        user.full_clean(exclude=["password"])  # the name: its characters, its length, not taken
    except ValidationError as bad:
        found = bad.message_dict
        if "first_name" in found and "username" not in found:
            raise ValidationError({"full_name": found["first_name"]}) from None
        raise ValidationError({"username": found.get("username", bad.messages)}) from None
    try:
        validate_password(password, user=user)
    except ValidationError as bad:
        raise ValidationError({"password": bad.messages}) from None
    user.set_password(password)
    user.must_change_password = True  # the creator knows it: only the person may go on using one
    with transaction.atomic():
        user.save()
        audit.record(
            actor=Actor.of(acting_user),
            action=Action.ACCOUNTS_USER_CREATE,
            company_id=company.pk,
            detail={"user_id": user.pk},
        )
    return user


def may_grant(actor: User, company: Company, role: str, *, to: User | None = None) -> bool:
    """Whether ``actor`` may grant (or revoke) ``role`` in ``company``. Nobody changes their
    own roles: otherwise a company admin, or the installation admin, could make themselves
    responsible manager and reveal numbers."""
    if to is not None and to.pk == actor.pk:
        return False
    if to is not None and to.is_installation_admin and reaches_numbers(role):
        return False  # the installation admin never reaches numbers (docs/architecture.md)
    if actor.is_installation_admin and role in INSTALLATION_ADMIN_APPOINTS:
        return True
    held = set(
        Membership.objects.filter(user=actor, company=company, revoked_at__isnull=True).values_list(
            "role", flat=True
        )
    )
    return can(held, GRANT_CAPABILITY[role])


def _audit_role_change(
    acting_user: User, action: Action, allowed: bool, company: Company, user_id: int, role: str
) -> None:
    audit.record(
        actor=Actor.of(acting_user),
        action=action,
        outcome="ok" if allowed else "refused",
        reason="" if allowed else "grantor_role",
        company_id=company.pk,
        detail={"user_id": user_id, "role": role},
    )


def grant_role(
    *,
    acting_user: User,
    user: User,
    company: Company,
    role: str,
    person_kinds: list[str] | None = None,
) -> Membership:
    allowed = may_grant(acting_user, company, role, to=user)
    with transaction.atomic():
        _audit_role_change(acting_user, Action.ACCOUNTS_ROLE_GRANT, allowed, company, user.pk, role)
        membership = None
        if allowed:
            membership, _ = Membership.objects.get_or_create(
                user=user,
                company=company,
                role=role,
                revoked_at=None,
                defaults={"granted_by": acting_user, "person_kinds": person_kinds or []},
            )
    if membership is None:
        raise RoleRefused(gettext("You may not grant this role."))
    return membership


def revoke_role(*, acting_user: User, membership: Membership) -> None:
    company = Company.objects.get(pk=membership.company_id)
    allowed = may_grant(acting_user, company, membership.role, to=membership.user)
    with transaction.atomic():
        _audit_role_change(
            acting_user,
            Action.ACCOUNTS_ROLE_REVOKE,
            allowed,
            company,
            membership.user_id,
            membership.role,
        )
        if allowed:
            membership.revoked_at = timezone.now()
            membership.save(update_fields=["revoked_at"])
    if not allowed:
        raise RoleRefused(gettext("You may not revoke this role."))


def create_api_client(*, acting_user: User, company: Company, name: str) -> tuple[ApiClient, str]:
    """A handler-role API client; the token is returned once and only its hash is kept. The
    responsible manager decides who handles numbers, so only who may designate a handler
    creates one."""
    allowed = Membership.objects.filter(
        user=acting_user,
        company=company,
        role__in=roles_with(Capability.GRANT_HANDLER),
        revoked_at__isnull=True,
    ).exists()
    token = secrets.token_urlsafe(32)
    client = None
    with transaction.atomic():
        if allowed:
            client = ApiClient.objects.create(
                company=company,
                name=name,
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                created_by=acting_user,
            )
        audit.record(
            actor=Actor.of(acting_user),
            action=Action.ACCOUNTS_API_CLIENT_CREATE,
            outcome="ok" if allowed else "refused",
            reason="" if allowed else "grantor_role",
            company_id=company.pk,
            detail={"api_client_id": client.pk if client else None, "role": Role.HANDLER},
        )
    if client is None:
        raise RoleRefused(gettext("You may not create API clients."))
    return client, token
