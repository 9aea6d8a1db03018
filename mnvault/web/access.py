"""Which company roles see which staff pages. Views enforce these with ``company_page(roles=…)``
and the navigation shows only what the user may open (a page outside one's roles is 404)."""

from __future__ import annotations

from django.utils.translation import gettext_noop as _

from mnvault.accounts.models import Role
from mnvault.collection.invitations import INVITERS

EVERY_ROLE = frozenset(Role.values)
# Who can do what (domain R2): reviewable by those who manage or audit it.
USERS_PAGE = frozenset({Role.COMPANY_ADMIN, Role.RESPONSIBLE_MANAGER, Role.AUDITOR})
SETTINGS_PAGE = frozenset({Role.COMPANY_ADMIN, Role.RESPONSIBLE_MANAGER})
AUDIT_PAGE = frozenset({Role.RESPONSIBLE_MANAGER, Role.AUDITOR})
LEDGER_PAGE = frozenset({Role.RESPONSIBLE_MANAGER, Role.AUDITOR, Role.HANDLER})
# Adding and editing people (names, dates): HR staff and the company admin, and handlers.
EDIT_PEOPLE = frozenset({Role.COMPANY_ADMIN, Role.STAFF, Role.HANDLER, Role.RESPONSIBLE_MANAGER})
# Collection: who sends invitations and sees where everyone stands (never the numbers).
INVITE_PAGE = INVITERS

# (url name, label msgid, roles) in the order of the navigation bar.
NAVIGATION = [
    ("dashboard", _("Dashboard"), EVERY_ROLE),
    ("people", _("People"), EVERY_ROLE),
    ("collection", _("Collection"), INVITE_PAGE),
    ("users", _("Users and roles"), USERS_PAGE),
    ("ledger", _("Handling ledger"), LEDGER_PAGE),
    ("audit", _("Audit log"), AUDIT_PAGE),
    ("settings", _("Settings"), SETTINGS_PAGE),
]
