"""What can go wrong in collection. The text is shown to the person or the handler and logged,
so it never holds a number."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mnvault.vault.errors import VaultError


class InvitationClosed(VaultError):
    code = "invitation_closed"
    message = _("This invitation can no longer be used (used, expired or withdrawn).")


class TooMany(VaultError):
    code = "too_many"
    message = _("No more can be added.")


class AlreadyStored(VaultError):
    code = "already_stored"
    message = _("A number is already stored for this person: replace it in person.")


class DependentAlreadyStored(AlreadyStored):
    message = _(
        "A dependent of the same name and birth date already has a stored number: "
        "it is left as it is; send the submission back without them, or replace it in person."
    )


class NotSubmitted(VaultError):
    code = "not_submitted"
    message = _("This submission is not awaiting review.")
