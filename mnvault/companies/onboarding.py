"""A new company with its first responsible manager (事務取扱責任者), in one step: the
installation admin may create companies and appoint their managers, but holds no role in
them, so someone must be able to designate the handlers from the start."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from mnvault.accounts.models import Role, User
from mnvault.accounts.services import grant_role
from mnvault.companies.models import Company
from mnvault.companies.services import create_company


def create_company_with_manager(
    *,
    acting_user: User,
    name: str,
    corporate_number: str,
    purposes: Iterable[str],
    manager_username: str,
    manager_password: str,
) -> Company:
    """All or nothing. Raises ``CompanyRefused`` for anyone but the installation admin,
    ``ValidationError`` for a bad 法人番号 or password, ``ValueError`` for a taken user name."""
    if User.objects.filter(username=manager_username).exists():
        raise ValueError(manager_username)
    validate_password(manager_password, User(username=manager_username))
    with transaction.atomic():
        company = create_company(
            acting_user=acting_user,
            name=name,
            corporate_number=corporate_number,
            purposes=purposes,
        )
        manager = User.objects.create_user(username=manager_username, password=manager_password)
        manager.must_change_password = True  # the admin knows it: the manager chooses their own
        manager.save(update_fields=["must_change_password"])
        grant_role(
            acting_user=acting_user, user=manager, company=company, role=Role.RESPONSIBLE_MANAGER
        )
    return company
