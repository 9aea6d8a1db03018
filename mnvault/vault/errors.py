"""Errors of the vault core. Their text is shown to users and written to logs, so it never holds
a number: callers pass codes and ids, never the value."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mnvault.domain.errors import InvalidNumber, VaultError

__all__ = [
    "DecryptionFailed",
    "DuplicateNumber",
    "InvalidNumber",
    "KeyFileOutdated",
    "KeyUnavailable",
    "Refused",
    "VaultError",
]


class Refused(VaultError, PermissionError):
    """The actor may not do this; the refusal has already been audited."""

    code = "refused"
    message = _("This action is not allowed.")


class DecryptionFailed(VaultError):
    """Fail closed (docs/architecture.md, "Keys and encryption"): a ciphertext that does not
    authenticate is an error, never a fallback to the stored bytes."""

    code = "decryption_failed"
    message = _("The data could not be decrypted.")


class KeyUnavailable(VaultError):
    code = "key_unavailable"
    message = _("The key is not available.")


class DuplicateNumber(VaultError):
    code = "duplicate_number"
    message = _("This individual number is already stored for this company.")


class KeyFileOutdated(KeyUnavailable):
    """The key store wraps keys under a KEK this server's key file does not hold: the KEK was
    rotated elsewhere (another server, or a key file restored from an older backup). Said as
    such, because every reveal failing as "key not available" sends people looking for lost
    data that is intact."""

    code = "key_file_outdated"
    message = _("This server's key file is older than the key store.")
