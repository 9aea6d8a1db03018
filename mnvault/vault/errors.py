"""Errors of the vault core. Their text is shown to users and written to logs, so it never holds
a number: callers pass codes and ids, never the value."""

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


class Refused(VaultError, PermissionError):
    """The actor may not do this; the refusal has already been audited."""

    code = "refused"
    message = "この操作は許可されていません / this action is not allowed"


class DecryptionFailed(VaultError):
    """Fail closed (docs/architecture.md, "Keys and encryption"): a ciphertext that does not
    authenticate is an error, never a fallback to the stored bytes."""

    code = "decryption_failed"
    message = "復号できませんでした / the data could not be decrypted"


class KeyUnavailable(VaultError):
    code = "key_unavailable"
    message = "鍵がありません / the key is not available"


class DuplicateNumber(VaultError):
    code = "duplicate_number"
    message = (
        "この個人番号は既にこの会社に登録されています / "
        "this individual number is already stored for this company"
    )
