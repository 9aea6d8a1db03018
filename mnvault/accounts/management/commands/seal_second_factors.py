"""Convert every phone and recovery code still in django-otp's clear columns, for a migration
that ran without the key file (accounts.twofactor)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from mnvault.accounts import twofactor


class Command(BaseCommand):
    help = "Seal TOTP secrets and hash recovery codes left in clear by an earlier version."

    def handle(self, *args: Any, **options: Any) -> None:
        converted = twofactor.convert_legacy()
        self.stdout.write(f"{converted} device(s) converted.")
