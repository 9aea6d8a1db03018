"""The one role → capability table (domain R1, R2). Every rule about who may do what — the
vault's decisions, the area services, the staff pages and the navigation — asks this table;
no other module keeps a set of roles.

Only handlers (事務取扱担当者) and responsible managers (事務取扱責任者) reach numbers — not the
company admin, not HR staff, not an auditor, and never the installation admin, who holds no
role in any company (docs/architecture.md, "Who uses it").
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COMPANY_ADMIN = "company_admin", _("Company administrator")
    RESPONSIBLE_MANAGER = "responsible_manager", _("Responsible manager")
    HANDLER = "handler", _("Handler")
    AUDITOR = "auditor", _("Auditor")
    STAFF = "staff", _("HR staff")


class Capability(models.TextChoices):
    # Numbers themselves (domain R1): reading, writing, providing, and the review of what a
    # person submitted (their numbers and identity documents).
    NUMBER_REVEAL = "number.reveal"
    NUMBER_EXPORT = "number.export"
    NUMBER_STORE = "number.store"
    NUMBER_IMPORT = "number.import"
    # Filling numbers into a statutory document (利用・提供) and downloading the file.
    NUMBER_PROVIDE = "number.provide"
    COLLECTION_REVIEW = "collection.review"
    # People's records without their numbers, and collection's invitations.
    PEOPLE_VIEW = "people.view"
    PEOPLE_EDIT = "people.edit"
    INVITE = "collection.invite"
    # Who can do what (domain R2): seen by those who manage or audit it.
    USERS_VIEW = "users.view"
    USERS_CREATE = "users.create"
    SETTINGS_EDIT = "settings.edit"
    AUDIT_READ = "audit.read"
    LEDGER_READ = "ledger.read"
    # Statutory documents (usage): the runs and the recipients' copies, which hold no number;
    # preparing a run from payroll data (no numbers either); marking it submitted.
    DOCUMENTS_VIEW = "documents.view"
    DOCUMENTS_PREPARE = "documents.prepare"
    DOCUMENTS_SUBMIT = "documents.submit"
    # Disposal (廃棄): seeing the queue and the holds, proposing a batch, approving one (a
    # responsible manager other than the proposer: the two-person rule).
    DISPOSAL_VIEW = "disposal.view"
    DISPOSAL_PROPOSE = "disposal.propose"
    DISPOSAL_APPROVE = "disposal.approve"
    # Granting (and revoking) each role: the responsible manager designates handlers, auditors
    # and HR staff; the company admin appoints managers, HR staff and other admins. The
    # installation admin appoints a new company's responsible manager and company admin when
    # it creates the company (INSTALLATION_ADMIN_APPOINTS). The responsible manager does not
    # appoint company admins: a company admin appoints responsible managers, so that would let
    # one who reaches numbers choose, through someone else, who else reaches them.
    GRANT_HANDLER = "grant.handler"
    GRANT_AUDITOR = "grant.auditor"
    GRANT_RESPONSIBLE_MANAGER = "grant.responsible_manager"
    GRANT_STAFF = "grant.staff"
    GRANT_COMPANY_ADMIN = "grant.company_admin"


C = Capability
_NUMBERS = {
    C.NUMBER_REVEAL,
    C.NUMBER_EXPORT,
    C.NUMBER_STORE,
    C.NUMBER_IMPORT,
    C.NUMBER_PROVIDE,
    C.COLLECTION_REVIEW,
}
_DOCUMENTS = {C.DOCUMENTS_VIEW, C.DOCUMENTS_PREPARE, C.DOCUMENTS_SUBMIT}

CAPABILITIES: dict[str, frozenset[str]] = {
    Role.COMPANY_ADMIN: frozenset(
        {
            C.PEOPLE_VIEW,
            C.PEOPLE_EDIT,
            C.INVITE,
            C.USERS_VIEW,
            C.USERS_CREATE,
            C.SETTINGS_EDIT,
            C.GRANT_RESPONSIBLE_MANAGER,
            C.GRANT_STAFF,
            C.GRANT_COMPANY_ADMIN,
        }
    ),
    Role.RESPONSIBLE_MANAGER: frozenset(
        {
            *_NUMBERS,
            *_DOCUMENTS,
            C.DISPOSAL_VIEW,
            C.DISPOSAL_PROPOSE,
            C.DISPOSAL_APPROVE,
            C.PEOPLE_VIEW,
            C.PEOPLE_EDIT,
            C.INVITE,
            C.USERS_VIEW,
            C.USERS_CREATE,
            C.SETTINGS_EDIT,
            C.AUDIT_READ,
            C.LEDGER_READ,
            C.GRANT_HANDLER,
            C.GRANT_AUDITOR,
            C.GRANT_STAFF,
        }
    ),
    Role.HANDLER: frozenset(
        {
            *_NUMBERS,
            *_DOCUMENTS,
            C.DISPOSAL_VIEW,
            C.DISPOSAL_PROPOSE,
            C.PEOPLE_VIEW,
            C.PEOPLE_EDIT,
            C.INVITE,
            C.LEDGER_READ,
        }
    ),
    Role.AUDITOR: frozenset(
        {
            C.PEOPLE_VIEW,
            C.USERS_VIEW,
            C.AUDIT_READ,
            C.LEDGER_READ,
            C.DOCUMENTS_VIEW,
            C.DISPOSAL_VIEW,
        }
    ),
    # HR staff see the runs and hand out the recipients' copies, never a number.
    Role.STAFF: frozenset({C.PEOPLE_VIEW, C.PEOPLE_EDIT, C.INVITE, C.DOCUMENTS_VIEW}),
}

# The capability needed to grant or revoke each role.
GRANT_CAPABILITY: dict[str, str] = {
    Role.HANDLER: C.GRANT_HANDLER,
    Role.AUDITOR: C.GRANT_AUDITOR,
    Role.RESPONSIBLE_MANAGER: C.GRANT_RESPONSIBLE_MANAGER,
    Role.STAFF: C.GRANT_STAFF,
    Role.COMPANY_ADMIN: C.GRANT_COMPANY_ADMIN,
}

# Roles the installation admin may appoint in a company, though it holds none: a company's
# responsible manager and its company admin, named on the company creation page.
INSTALLATION_ADMIN_APPOINTS = frozenset({Role.COMPANY_ADMIN, Role.RESPONSIBLE_MANAGER})


def roles_with(capability: str) -> frozenset[str]:
    """The roles that hold ``capability``; for queries (``role__in=``)."""
    return frozenset(role for role, held in CAPABILITIES.items() if capability in held)


def can(roles: Iterable[str], capability: str) -> bool:
    """Whether any of ``roles`` holds ``capability``."""
    return any(capability in CAPABILITIES.get(role, frozenset()) for role in roles)


def reaches_numbers(role: str) -> bool:
    return bool(CAPABILITIES[role] & _NUMBERS)


def needs_second_factor(role: str) -> bool:
    """Every role that can reach a number, or change who can, signs in with a second factor."""
    return reaches_numbers(role) or any(c in CAPABILITIES[role] for c in GRANT_CAPABILITY.values())
