"""``mnvault keys export``: a passphrase-protected copy of the key file for the offline backup.

The copy is a key file of the usual format, sealed like ``mnvault init --passphrase`` seals one
(Argon2id + AES-GCM), so restoring it is copying it into place with ``MNVAULT_KEY_PASSPHRASE``
set. A copy in clear on a USB stick would be the whole vault for whoever finds it; sealed, it
is worth as much as the passphrase kept apart from it.
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.vault import keys
from mnvault.vault.errors import VaultError
from mnvault.vault.keys import MIN_PASSPHRASE, KeyFileProvider


def export_key_file(*, to: Path, passphrase: str, actor: Actor) -> list[str]:
    """Write the copy (mode 0600, never over an existing file) and audit it in one step: a
    copy whose entry could not be written is removed again. The KEK ids it holds."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise VaultError(
            _("The passphrase needs %(n)d characters or more.") % {"n": MIN_PASSPHRASE},
            code="passphrase",
        )
    material = keys.material()
    try:
        with transaction.atomic():
            KeyFileProvider(to, passphrase).create(material)
            audit.record(
                actor=actor,
                action=Action.KEYS_EXPORT,
                detail={
                    "to": str(to),
                    "keks": sorted(material.keks),
                    "signing_key": material.signing_seed is not None,
                },
            )
    except FileExistsError:
        raise _exists(to) from None
    except OSError as error:  # no such directory, no permission: said, not a traceback
        raise VaultError(
            _("The copy could not be written to %(path)s: %(error)s.")
            % {"path": to, "error": error.strerror},
            code="not_written",
        ) from None
    except BaseException:
        to.unlink(missing_ok=True)
        raise
    return sorted(material.keks)


def _exists(to: Path) -> VaultError:
    return VaultError(
        _("%(path)s exists already: it is never overwritten. Choose another name.") % {"path": to},
        code="exists",
    )
