"""The navigation of the staff pages. Views enforce who may open each page with
``company_page(capability=…)`` from the one role table (mnvault.domain.roles); the navigation
shows only what the user may open (a page outside one's roles is 404)."""

from __future__ import annotations

from django.utils.translation import gettext_noop as _

from mnvault.domain.roles import Capability as C

# (url name, label msgid, capability) in the order of the navigation bar.
NAVIGATION = [
    ("dashboard", _("Dashboard"), C.PEOPLE_VIEW),
    ("people", _("People"), C.PEOPLE_VIEW),
    ("collection", _("Collection"), C.INVITE),
    ("documents", _("Documents"), C.DOCUMENTS_VIEW),
    ("users", _("Users and roles"), C.USERS_VIEW),
    ("ledger", _("Handling ledger"), C.LEDGER_READ),
    ("disposal", _("Disposal"), C.DISPOSAL_VIEW),
    ("audit", _("Audit log"), C.AUDIT_READ),
    ("settings", _("Settings"), C.SETTINGS_EDIT),
]
