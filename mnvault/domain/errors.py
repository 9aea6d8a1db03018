"""The base error of mnvault's rules. Its text is shown to users and written to logs, so it
never holds a number: callers pass codes and ids, never the value."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:  # the stubs' name for a text that may be lazy
    from django_stubs_ext import StrOrPromise


class VaultError(Exception):
    """Base class; ``str()`` is the message in the active language, safe to show and to log.
    Messages of subclasses are lazy (classes are made at import, before any language is
    chosen): they are translated each time they are shown."""

    code = "vault_error"
    message: StrOrPromise = _("The vault failed.")

    def __init__(self, message: StrOrPromise | None = None, *, code: str | None = None) -> None:
        if message:  # else the class's own
            self.message = message
        self.code = code or self.code
        super().__init__(self.message)

    def __str__(self) -> str:
        return str(self.message)


class InvalidNumber(VaultError, ValueError):
    code = "invalid_number"
    message = _("The individual number is not valid.")
