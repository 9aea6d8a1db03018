"""Every role granted, and every role revoked, has its audit entry (docs/threat-model.md;
registered with ``audit.facts`` by ``AccountsConfig.ready``): a role that reaches numbers,
given past the log, is the first step of an undetected reveal."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from mnvault.accounts.models import Membership
from mnvault.audit.actions import Action
from mnvault.audit.models import AuditEntry, Outcome


def _logged(action: Action) -> set[tuple[Any, Any, Any]]:
    """(company, user, role) of every successful entry of ``action``."""
    entries = AuditEntry.objects.filter(action=action, outcome=Outcome.OK)
    return {
        (company_id, detail.get("user_id"), detail.get("role"))
        for company_id, detail in entries.values_list("company_id", "detail")
        if isinstance(detail, dict)
    }


def roles_accounted_for() -> str | None:
    granted, revoked = _logged(Action.ACCOUNTS_ROLE_GRANT), _logged(Action.ACCOUNTS_ROLE_REVOKE)
    memberships = Membership.objects.order_by("pk").values_list(
        "company_id", "user_id", "role", "revoked_at"
    )
    for company_id, user_id, role, revoked_at in memberships:
        names = {"role": role, "user": user_id, "company": company_id}
        if (company_id, user_id, role) not in granted:
            return (
                _(
                    "the role %(role)s of user %(user)d in company %(company)d has no audit entry "
                    "for its grant: its entry was removed, or it was granted past mnvault"
                )
                % names
            )
        if revoked_at is not None and (company_id, user_id, role) not in revoked:
            return (
                _(
                    "the role %(role)s of user %(user)d in company %(company)d was revoked without "
                    "an audit entry: its entry was removed, or it was revoked past mnvault"
                )
                % names
            )
    return None
