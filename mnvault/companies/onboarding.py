"""A new company with its first responsible manager (事務取扱責任者), in one step: the
installation admin may create companies and appoint their managers, but holds no role in
them, so someone must be able to designate the handlers from the start.

The installation admin also names the company admin (会社管理者) here, if the company has
one: it appoints responsible managers, HR staff and other admins later, and the installation
admin never reaches the company's pages. An accountant's people serve many client companies
with one account each (domain R2), so the manager and the admin may be existing users."""

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
    manager: User | None = None,
    manager_username: str = "",
    manager_password: str = "",
    manager_full_name: str = "",
    company_admin: User | None = None,
    manager_is_company_admin: bool = False,
) -> Company:
    """All or nothing. The manager is ``manager``, an existing user, or else a new account
    (``manager_username``, ``manager_full_name``, ``manager_password``). Raises
    ``CompanyRefused`` for anyone but the installation admin, ``RoleRefused`` for a manager or
    admin who may not hold the role (an installation admin), ``ValidationError`` for a bad
    法人番号 or password, ``ValueError`` for a taken user name."""
    if manager is None:
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
        if manager is None:
            manager = User.objects.create_user(
                username=manager_username,
                password=manager_password,
                first_name=manager_full_name.strip(),
            )
            manager.must_change_password = True  # the admin knows it: the manager chooses theirs
            manager.save(update_fields=["must_change_password"])
        grant_role(
            acting_user=acting_user, user=manager, company=company, role=Role.RESPONSIBLE_MANAGER
        )
        admins = [company_admin, manager if manager_is_company_admin else None]
        for admin in {admin for admin in admins if admin is not None}:
            grant_role(
                acting_user=acting_user, user=admin, company=company, role=Role.COMPANY_ADMIN
            )
    return company
