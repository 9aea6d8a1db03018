"""The handler's side of collection: approve a submission, or send it back with a reason and
a new invitation for the person."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet

from mnvault.accounts.models import User
from mnvault.collection import invitations
from mnvault.collection.invitations import InviteResult
from mnvault.collection.models import Invitation, Submission, SubmissionStatus
from mnvault.companies.models import Company
from mnvault.people.models import Person
from mnvault.vault import collected


def queue(company: Company) -> QuerySet[Submission]:
    return (
        Submission.objects.filter(company=company, status=SubmissionStatus.SUBMITTED)
        .select_related("person")
        .order_by("submitted_at", "pk")
    )


def approve(
    *,
    acting_user: User,
    submission: Submission,
    document_kinds: Sequence[str],
    client_address: str = "",
) -> None:
    company = Company.objects.get(pk=submission.company_id)
    collected.approve(
        acting_user=acting_user,
        submission=submission,
        document_kinds=document_kinds,
        retention_days=invitations.settings_of(company).document_retention_days,
        client_address=client_address,
    )


def send_back(
    *, acting_user: User, submission: Submission, reason: str, client_address: str = ""
) -> InviteResult:
    """Send back, then invite again the way the person was invited before (an e-mail, or a
    sheet to print that the caller shows)."""
    collected.send_back(
        acting_user=acting_user, submission=submission, reason=reason, client_address=client_address
    )
    previous = Invitation.objects.get(pk=submission.invitation_id)
    company = Company.objects.get(pk=submission.company_id)
    person = Person.objects.get(pk=submission.person_id)
    delivery = previous.delivery if person.email else Invitation.Delivery.PRINT
    return invitations.invite(
        acting_user=acting_user,
        company=company,
        people=[person],
        delivery=delivery,
        client_address=client_address,
        follows_send_back=True,
    )
