"""``mnvault createadmin``: an installation administrator, who creates companies but holds no
role in any of them (and so can never reveal a number)."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mnvault.accounts.services import create_installation_admin
from mnvault.cli.prompts import secret


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Create an installation administrator.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--name", default="", help=_("The administrator's full name."))

    def handle(self, *args, username: str, email: str, name: str, **options) -> None:
        password = secret("MNVAULT_ADMIN_PASSWORD", _("Password"))
        try:
            validate_password(password)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        try:
            create_installation_admin(
                username=username, email=email, password=password, full_name=name
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"created installation admin {username}"))
