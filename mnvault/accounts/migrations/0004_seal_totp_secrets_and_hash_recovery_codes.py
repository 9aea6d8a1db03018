"""Existing phones and recovery codes moved out of django-otp's clear columns: each TOTP secret
sealed by the vault, each recovery code kept as a salted HMAC (accounts.twofactor).

Both need the key file. When it cannot be read while migrating (a passphrase-protected file
and no MNVAULT_KEY_PASSPHRASE), nothing is converted here: the next start of ``mnvault serve``
converts them (``cli.setup.seal_second_factors``), or each user's next code does.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def convert_existing(apps: Any, schema_editor: Any) -> None:
    from mnvault.accounts import twofactor
    from mnvault.vault.errors import KeyUnavailable

    legacy = apps.get_model("otp_totp", "TOTPDevice").objects.exists() or apps.get_model(
        "otp_static", "StaticDevice"
    ).objects.exists()
    if not legacy:
        return
    try:
        twofactor.convert_legacy(apps)
    except KeyUnavailable:
        pass  # converted by `mnvault serve`'s start, or at first use


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_sealed_second_factors"),
        ("otp_totp", "0003_add_timestamps"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(convert_existing, migrations.RunPython.noop)]
