"""``mnvault createadmin``: an installation administrator, who creates companies but holds no
role in any of them (and so can never reveal a number)."""

from __future__ import annotations

import getpass
import os
import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from mnvault.accounts.services import create_installation_admin


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
        password = os.environ.get("MNVAULT_ADMIN_PASSWORD") or self._ask()
        try:
            validate_password(password)
        except ValidationError as error:
            raise CommandError(f"{' '.join(error.messages)} / {_in_english(password)}") from None
        try:
            create_installation_admin(username=username, email=email, password=password)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"created installation admin {username}"))

    def _ask(self) -> str:
        if not sys.stdin.isatty():
            raise CommandError(
                "端末がありません。MNVAULT_ADMIN_PASSWORD を設定してください / "
                "no terminal to ask on: set MNVAULT_ADMIN_PASSWORD"
            )
        first = getpass.getpass("パスワード / password: ")
        if getpass.getpass("もう一度 / again: ") != first:
            raise CommandError("パスワードが一致しません / the passwords differ")
        return first
