"""Users and what each may do in each company (domain R1, R2)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin

from mnvault.domain import numbers
from mnvault.domain.roles import Role

__all__ = [
    "ApiClient",
    "LoginEvent",
    "Membership",
    "RecoveryCode",
    "RecoveryCodeDevice",
    "Role",
    "SealedTOTPDevice",
    "SignInOutcome",
    "User",
]


class User(AbstractUser):  # type: ignore[django-manager-missing]  # django-otp is untyped
    """One person, one account (domain R2: no shared accounts).

    ``is_installation_admin`` may create companies, but holds no company role by itself and so
    can never reveal a number (docs/architecture.md, "Who uses it").
    """

    is_installation_admin = models.BooleanField(_("installation administrator"), default=False)
    must_change_password = models.BooleanField(default=False)
    # Lock-out after repeated failures (accounts.signin).
    failed_logins = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    # Whether this session gave its second factor: set by django_otp's OTPMiddleware on the
    # signed-in user of each request (absent on users loaded any other way).
    is_verified: Callable[[], bool]

    def __str__(self) -> str:
        return self.username

    def clean(self) -> None:
        """A user name, and the full name beside it, are shown everywhere: never a number."""
        super().clean()
        misplaced = _("This looks like an individual number; it does not belong here.")
        errors = {
            field: misplaced
            for field in ("username", "first_name", "last_name")
            if numbers.holds_number(getattr(self, field))
        }
        if errors:
            raise ValidationError(errors)


class Membership(models.Model):
    """A role a user holds in one company, with who granted it and when (domain R2: rights are
    reviewable). Revoking sets ``revoked_at`` so the history stays."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=32, choices=Role.choices)
    # Person kinds a handler serves (domain R1); empty means every kind.
    person_kinds = models.JSONField(default=list, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "company", "role"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_membership_per_role",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.company_id}:{self.role}"


class ApiClient(models.Model):
    """Payroll software fetching numbers for statutory documents (docs/architecture.md, "Who uses
    it"). It acts in one company with one role; only the SHA-256 of its token is stored."""

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.HANDLER)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class SignInOutcome(models.TextChoices):
    OK = "ok", _("Signed in")
    BAD_PASSWORD = "bad_password", _("Wrong user name or password")
    LOCKED = "locked", _("Account locked")
    THROTTLED = "throttled", _("Held back: too many failures from this source")
    BAD_CODE = "bad_code", _("Wrong two-factor code")
    VERIFIED = "verified", _("Two-factor code accepted")
    RECOVERY_CODE = "recovery_code", _("Recovery code used")
    REAUTHENTICATED = "reauthenticated", _("Identity confirmed again")
    ENROLLED = "enrolled", _("Two-factor authentication set up")
    LOGOUT = "logout", _("Signed out")
    TIMEOUT = "timeout", _("Session expired")


class LoginEvent(models.Model):
    """Login history (domain R3): every attempt, success or not, with where it came from.
    ``username`` is what was typed, kept also when no such user exists."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    username = models.CharField(max_length=150)
    outcome = models.CharField(max_length=16, choices=SignInOutcome.choices)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    client_address = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        # The sign-in throttle counts recent failures per address and per name typed.
        indexes = [
            models.Index(fields=["client_address", "at"], name="loginevent_address_at"),
            models.Index(fields=["username", "at"], name="loginevent_username_at"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.outcome}"


class SealedTOTPDevice(ThrottlingMixin, Device):
    """A phone's TOTP secret, sealed with a key of the key file (``vault.api.seal_totp_secret``)
    instead of django-otp's ``TOTPDevice.key`` in clear, so a dump of the data database holds
    no usable second factor. The other fields are django-otp's, with its defaults."""

    sealed_key: models.BinaryField[bytes, bytes] = models.BinaryField(default=b"")
    step: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(default=30)
    t0: models.BigIntegerField[int, int] = models.BigIntegerField(default=0)
    digits: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(default=6)
    tolerance: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(
        default=1
    )
    drift: models.SmallIntegerField[int, int] = models.SmallIntegerField(default=0)
    # The time step of the last accepted code: a code is never accepted twice.
    last_t: models.BigIntegerField[int, int] = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "TOTP device"

    def verify_token(self, token: str) -> bool:
        from mnvault.accounts import twofactor  # the vault's cipher, loaded after the models

        return twofactor.verify_totp(self, token)

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1))


class RecoveryCodeDevice(ThrottlingMixin, Device):
    """The user's recovery codes, kept only as keyed salted hashes (``RecoveryCode``)."""

    class Meta(Device.Meta):
        verbose_name = "recovery codes"

    def verify_token(self, token: str) -> bool:
        from mnvault.accounts import twofactor

        return twofactor.use_recovery_code(self, token)

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1))


class RecoveryCode(models.Model):
    """One unused recovery code: its salt and ``vault.api.recovery_code_digest``; deleted when
    used."""

    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    salt = models.BinaryField()
    digest = models.BinaryField()
