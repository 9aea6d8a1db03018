"""Finding what a command line names."""

from __future__ import annotations

import getpass
from dataclasses import replace

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from mnvault.accounts.models import User
from mnvault.audit.actors import Actor
from mnvault.companies.models import Company


def find_company(text: str, *, returncode: int = 1) -> Company:
    matches = Company.objects.filter(pk=int(text)) if text.isdigit() else Company.objects.none()
    matches = matches or Company.objects.filter(name=text)
    if len(matches) != 1:
        raise CommandError(
            _("No single company matches '%(name)s'.") % {"name": text}, returncode=returncode
        )
    return matches[0]


def find_user(name: str, *, returncode: int = 1) -> User:
    user = User.objects.filter(username=name, is_active=True).first()
    if user is None:
        raise CommandError(_("No active user %(name)s.") % {"name": name}, returncode=returncode)
    return user


def cli_actor(user: User) -> Actor:
    """The named user, and who ran the command: the user is not authenticated here (the
    operator holds the key file anyway), so the audit entry says both. No sign-in time: the
    re-authentication the pages ask for does not apply; role checks do."""
    return replace(Actor.of(user), label=f"{user.get_username()} via cli:{getpass.getuser()}")
