"""Second factors whose secrets stay out of the data database (issue 13, item 6).

django-otp keeps a TOTP secret in clear (``TOTPDevice.key``) and recovery codes in clear
(``StaticToken.token``), so any dump or backup of the data database would carry every user's
second factor beside the password hashes. Here the TOTP secret is sealed by the vault
(AES-GCM under a key derived from the key file, bound to the device and the user) and opened
only in memory to check a code, with django-otp's own TOTP algorithm; a recovery code is kept
as a salted HMAC under another key of the key file and deleted when used.

Devices made before this (django-otp's ``TOTPDevice`` and ``StaticDevice``) are converted by
the migration ``accounts.0004`` when the key file can be read then, else at the next start
of ``mnvault serve`` (``cli.setup.seal_second_factors``) or at the user's next code,
whichever comes first (``convert_legacy``).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import transaction
from django.views.decorators.debug import sensitive_variables
from django_otp.oath import TOTP

from mnvault.accounts.models import RecoveryCode, RecoveryCodeDevice, SealedTOTPDevice, User
from mnvault.vault import api

SECRET_BYTES = 20  # django-otp's default, what authenticator apps expect (RFC 4226: 160 bits)
RECOVERY_CODE_BYTES = 10  # 80 bits: 16 base32 letters
SALT_BYTES = 16


def totp_secret(device: SealedTOTPDevice) -> bytes:
    return api.open_totp_secret(device.pk, device.user_id, device.sealed_key)


@sensitive_variables("secret")
def new_totp_device(
    user: User, *, name: str = "mnvault", confirmed: bool = False
) -> SealedTOTPDevice:
    """A device with a fresh secret; the row exists before the secret is sealed, since the
    associated data names the device."""
    with transaction.atomic():
        device = SealedTOTPDevice.objects.create(user=user, name=name, confirmed=confirmed)
        secret = secrets.token_bytes(SECRET_BYTES)
        device.sealed_key = api.seal_totp_secret(device.pk, user.pk, secret)
        device.save(update_fields=["sealed_key"])
    return device


def config_url(device: SealedTOTPDevice) -> str:
    """The otpauth:// URL for the phone (the key-URI format of django-otp's ``config_url``)."""
    label = device.user.get_username()
    params = {
        "secret": base64.b32encode(totp_secret(device)),
        "algorithm": "SHA1",
        "digits": device.digits,
        "period": device.step,
    }
    query = urlencode(params)
    issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "").replace(":", "")
    if issuer:
        label = f"{issuer}:{label}"
        query += f"&issuer={quote(issuer)}"
    return f"otpauth://totp/{quote(label)}?{query}"


def verify_totp(device: SealedTOTPDevice, token: str) -> bool:
    """django-otp's ``TOTPDevice.verify_token`` on the secret opened in memory: throttled, a
    code accepted once only, the phone's drift followed."""
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        return False
    try:
        number = int(token)
    except ValueError:
        verified = False
    else:
        totp = TOTP(totp_secret(device), device.step, device.t0, device.digits, device.drift)
        totp.time = time.time()
        verified = bool(totp.verify(number, device.tolerance, device.last_t + 1))
        if verified:
            device.last_t = totp.t()
            if getattr(settings, "OTP_TOTP_SYNC", True):
                device.drift = totp.drift
            device.throttle_reset(commit=False)
            device.save()
    if not verified:
        device.throttle_increment(commit=True)
    return verified


def normalise(code: str) -> str:
    """As the user may type a code: any case, with spaces or hyphens between groups."""
    return "".join(code.replace("-", " ").split()).lower()


def _hashed(device: RecoveryCodeDevice, code: str) -> RecoveryCode:
    salt = secrets.token_bytes(SALT_BYTES)
    return RecoveryCode(device=device, salt=salt, digest=api.recovery_code_digest(salt, code))


def new_recovery_codes(user: User, count: int) -> list[str]:
    """Fresh codes replacing any earlier ones: returned once, for the page that shows them;
    only their hashes are kept. Call inside a transaction."""
    RecoveryCodeDevice.objects.filter(user=user).delete()
    device = RecoveryCodeDevice.objects.create(user=user, name="recovery", confirmed=True)
    codes = [
        base64.b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode().lower()
        for _ in range(count)
    ]
    RecoveryCode.objects.bulk_create(_hashed(device, code) for code in codes)
    return [" ".join(code[i : i + 4] for i in range(0, len(code), 4)) for code in codes]


def use_recovery_code(device: RecoveryCodeDevice, token: str) -> bool:
    """Whether ``token`` is one of the device's unused codes; if so it is used up (deleted
    under a row lock, so two sign-ins cannot both use it)."""
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        return False
    typed = normalise(token)
    with transaction.atomic():
        for code in RecoveryCode.objects.select_for_update().filter(device=device):
            if hmac.compare_digest(
                bytes(code.digest), api.recovery_code_digest(bytes(code.salt), typed)
            ):
                code.delete()
                device.throttle_reset()
                return True
    device.throttle_increment(commit=True)
    return False


# --- devices made by django-otp before the secrets were sealed --------------------------------


def convert_legacy(models: Any = None, user_id: int | None = None) -> int:
    """Replace django-otp's clear devices (of ``user_id``, or of everyone) by sealed ones with
    the same secret, codes and settings; the number of devices converted. ``models`` is the
    migration's app registry, or None for the current models. Needs the key file."""
    from django.apps import apps as current

    registry = models or current
    legacy_totp = registry.get_model("otp_totp", "TOTPDevice")
    legacy_static = registry.get_model("otp_static", "StaticDevice")
    legacy_token = registry.get_model("otp_static", "StaticToken")
    sealed = registry.get_model("accounts", "SealedTOTPDevice")
    recovery = registry.get_model("accounts", "RecoveryCodeDevice")
    hashed = registry.get_model("accounts", "RecoveryCode")
    mine = {} if user_id is None else {"user_id": user_id}
    converted = 0
    with transaction.atomic():
        for old in legacy_totp.objects.select_for_update().filter(**mine):
            new = sealed.objects.create(
                user_id=old.user_id,
                name=old.name,
                confirmed=old.confirmed,
                step=old.step,
                t0=old.t0,
                digits=old.digits,
                tolerance=old.tolerance,
                drift=old.drift,
                last_t=old.last_t,
            )
            secret = bytes.fromhex(old.key)
            new.sealed_key = api.seal_totp_secret(new.pk, old.user_id, secret)
            new.save(update_fields=["sealed_key"])
            old.delete()
            converted += 1
        for old in legacy_static.objects.select_for_update().filter(**mine):
            new = recovery.objects.create(
                user_id=old.user_id, name=old.name, confirmed=old.confirmed
            )
            rows = []
            for token in legacy_token.objects.filter(device_id=old.pk):
                salt = secrets.token_bytes(SALT_BYTES)
                digest = api.recovery_code_digest(salt, normalise(token.token))
                rows.append(hashed(device_id=new.pk, salt=salt, digest=digest))
            hashed.objects.bulk_create(rows)
            legacy_token.objects.filter(device_id=old.pk).delete()
            old.delete()
            converted += 1
    return converted
