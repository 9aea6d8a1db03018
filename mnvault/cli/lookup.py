"""Finding what a command line names."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from mnvault.companies.models import Company


def find_company(text: str) -> Company:
    matches = Company.objects.filter(pk=int(text)) if text.isdigit() else Company.objects.none()
    matches = matches or Company.objects.filter(name=text)
    if len(matches) != 1:
        raise CommandError(_("No single company matches '%(name)s'.") % {"name": text})
    return matches[0]
