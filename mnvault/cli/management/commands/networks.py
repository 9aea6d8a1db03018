"""``mnvault networks clear --company …``: lift a company's allowed networks (domain R8) when
a changed office address has locked everyone out."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from mnvault.audit.actors import Actor
from mnvault.cli.lookup import find_company
from mnvault.companies.services import clear_networks


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Clear a company's allowed networks.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        clear = sub.add_parser("clear", help=_("remove them all"))
        clear.add_argument("--company", required=True, help=_("the company's id or name"))

    def handle(self, *args, action: str, company: str, **options) -> None:
        target = find_company(company)
        removed = clear_networks(actor=Actor.system(f"cli:{getpass.getuser()}"), company=target)
        self.stdout.write(f"{target.name}: {removed} allowed networks removed")
