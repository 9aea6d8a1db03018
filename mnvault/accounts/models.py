"""Users and what each may do in each company (domain R1, R2)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """One person, one account (domain R2: no shared accounts).

    ``is_installation_admin`` may create companies, but holds no company role by itself and so
    can never reveal a number (design.md: not even the system administrator).
    """

    is_installation_admin = models.BooleanField(_("installation administrator"), default=False)
    must_change_password = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.username


class Role(models.TextChoices):
    COMPANY_ADMIN = "company_admin", _("会社管理者 / company administrator")
    RESPONSIBLE_MANAGER = "responsible_manager", _("事務取扱責任者 / responsible manager")
    HANDLER = "handler", _("事務取扱担当者 / handler")
    AUDITOR = "auditor", _("監査担当 / auditor")
    STAFF = "staff", _("人事担当 / HR staff")


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
    """Payroll software fetching numbers for statutory documents (design.md). It acts in one
    company with one role; only the SHA-256 of its token is stored."""

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
