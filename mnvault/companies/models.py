"""Tenants. Every row of every other area belongs to exactly one company (docs/architecture.md,
invariant 5)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from stdnum.jp import cn

from mnvault.companies.countries import validate_country
from mnvault.companies.networks import validate_network
from mnvault.companies.purposes import Purpose

# Bounds of a company's own idle timeout: at least a minute, at most a working day.
IDLE_MINUTES_MAX = 8 * 60


def validate_corporate_number(value: str) -> None:
    """法人番号: 13 digits, the first a check digit (domain R40)."""
    if not cn.is_valid(value):
        raise ValidationError(
            _("The corporate number is not valid."),
            code="invalid_corporate_number",
        )


class Company(models.Model):
    name = models.CharField(_("name"), max_length=200)
    corporate_number = models.CharField(
        _("Corporate number"),
        max_length=13,
        blank=True,
        default="",
        validators=[validate_corporate_number],
    )
    # 外的環境の把握 (domain R10): where numbers are stored and handled.
    data_country = models.CharField(
        _("Country where data is kept"), max_length=2, default="JP", validators=[validate_country]
    )
    # Overrides the installation's idle timeout on this company's pages (accounts.signin).
    idle_minutes = models.PositiveSmallIntegerField(
        _("Idle timeout in minutes"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(IDLE_MINUTES_MAX)],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(
                fields=["corporate_number"],
                condition=~models.Q(corporate_number=""),
                name="unique_corporate_number",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if self.corporate_number:
            self.corporate_number = cn.compact(self.corporate_number)
        super().save(*args, **kwargs)

    def notified_purposes(self) -> set[str]:
        return set(CompanyPurpose.objects.filter(company=self).values_list("purpose", flat=True))


class CompanyPurpose(models.Model):
    """A purpose the company notifies (公表・通知) to the people whose numbers it collects."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="purposes")
    purpose = models.CharField(max_length=40, choices=Purpose.choices)
    since = models.DateField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "purpose"], name="unique_company_purpose")
        ]


class AllowedNetwork(models.Model):
    """A network this company's pages may be reached from (domain R8). A company with none
    is reachable from anywhere; with one or more, only from inside them (web.middleware)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="networks")
    # Normalised CIDR form (companies.networks): IPv6 at most 39 characters plus "/128".
    cidr = models.CharField(_("IP range"), max_length=43, validators=[validate_network])
    note = models.CharField(_("Note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "cidr"], name="unique_company_network")
        ]

    def __str__(self) -> str:
        return self.cidr
