"""The base error of mnvault's rules. Its text is shown to users and written to logs, so it
never holds a number: callers pass codes and ids, never the value."""

from __future__ import annotations


class VaultError(Exception):
    """Base class; ``str()`` is a bilingual message safe to show and to log."""

    code = "vault_error"
    message = "保管庫でエラーが発生しました / the vault failed"

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or self.message
        self.code = code or self.code
        super().__init__(self.message)


class InvalidNumber(VaultError, ValueError):
    code = "invalid_number"
    message = "個人番号が正しくありません / the individual number is not valid"
