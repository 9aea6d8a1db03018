"""Creating companies and setting the purposes they notify."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from stdnum.jp import cn

from mnvault.accounts.models import User
from mnvault.audit import log as audit
from mnvault.audit.log import Actor
from mnvault.companies.models import Company, CompanyPurpose
from mnvault.companies.purposes import Purpose


class CompanyRefused(PermissionError):
    pass


def create_company(
    *,
    acting_user: User | Actor,
    name: str,
    corporate_number: str = "",
    purposes: Iterable[str] = (),
) -> Company:
    """Only the installation admin (or the operator at the command line) creates companies;
    never an API client."""
    actor = acting_user if isinstance(acting_user, Actor) else Actor.of(acting_user)
    is_admin = actor.kind == "user" and actor.user is not None and actor.user.is_installation_admin
    if not (is_admin or actor.kind == "system"):
        with transaction.atomic():
            audit.record(
                actor=actor,
                action="companies.create",
                outcome="refused",
                reason="not_installation_admin",
            )
        raise CompanyRefused(
            "会社を作れるのはインストール管理者だけです / only the installation admin creates "
            "companies"
        )
    company = Company(name=name, corporate_number=cn.compact(corporate_number))
    company.full_clean()
    purposes = list(dict.fromkeys(purposes))
    for purpose in purposes:
        Purpose(purpose)  # ValueError for an unknown code
    with transaction.atomic():
        company.save()
        CompanyPurpose.objects.bulk_create(
            CompanyPurpose(company=company, purpose=p) for p in purposes
        )
        audit.record(
            actor=actor,
            action="companies.create",
            company_id=company.pk,
            detail={"purposes": purposes},
        )
    return company
