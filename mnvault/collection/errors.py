"""What can go wrong in collection. The text is shown to the person or the handler and logged,
so it never holds a number."""

from __future__ import annotations

from mnvault.vault.errors import VaultError


class InvitationClosed(VaultError):
    code = "invitation_closed"
    message = (
        "この招待は使えません (使用済み・期限切れ・取消し) / "
        "this invitation can no longer be used (used, expired or withdrawn)"
    )


class TooMany(VaultError):
    code = "too_many"
    message = "これ以上追加できません / no more can be added"


class AlreadyStored(VaultError):
    code = "already_stored"
    message = (
        "この人の番号は既に保管されています。置き換えは対面で行ってください / "
        "a number is already stored for this person: replace it in person"
    )


class NotSubmitted(VaultError):
    code = "not_submitted"
    message = "この提出は確認待ちではありません / this submission is not awaiting review"
