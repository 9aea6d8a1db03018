"""Who acted, as the audit log records it: a user, an API client, a person registering through
an invitation, or the system (a command the operator ran, the scheduler). Every layer above the
audit log names its actor with this value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from mnvault.accounts.models import ApiClient, User


@dataclass(frozen=True)
class Actor:
    """Who acted: a user, an API client or the system (a command run by the operator)."""

    kind: str
    id: int | None
    label: str
    user: User | None = field(default=None, repr=False, compare=False)
    # When a user at a screen last proved who they are (password or code); None for those
    # with no sign-in session (the command line, the scheduler). Not written to the log.
    authenticated_at: datetime | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, user: User, *, authenticated_at: datetime | None = None) -> Actor:
        return cls(
            kind="user",
            id=user.pk,
            label=user.get_username(),
            user=user,
            authenticated_at=authenticated_at,
        )

    @classmethod
    def of_api_client(cls, client: ApiClient) -> Actor:
        return cls(kind="api", id=client.pk, label=f"api:{client.name}"[:150])

    @classmethod
    def invitee(cls, invitation_id: int) -> Actor:
        """A person registering their own number through an invitation (no account)."""
        return cls(kind="invitee", id=invitation_id, label=f"invitation:{invitation_id}")

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls(kind="system", id=None, label=label)
