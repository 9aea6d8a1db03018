"""``mnvault createadmin``: an installation administrator, who creates companies but holds no
role in any of them (and so can never reveal a number)."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from mnvault.accounts.services import create_installation_admin
from mnvault.cli.prompts import secret


def _in_english(password: str) -> str:
    """The validators' messages again in English (they are rendered when raised)."""
    with translation.override("en"):
        try:
            validate_password(password)
        except ValidationError as error:
            return " ".join(error.messages)
    return ""


class Command(BaseCommand):
    help = "インストール管理者を作る / create an installation administrator"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")

    def handle(self, *args, username: str, email: str, **options) -> None:
        password = secret("MNVAULT_ADMIN_PASSWORD", "パスワード", "password")
        try:
            validate_password(password)
        except ValidationError as error:
            raise CommandError(f"{' '.join(error.messages)} / {_in_english(password)}") from None
        try:
            create_installation_admin(username=username, email=email, password=password)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"created installation admin {username}"))
