"""The daily e-mail of the audit log's latest signed checkpoint to each company's responsible
managers and auditors — witnesses outside the server (docs/architecture.md, "Audit log").

A recipient keeps the e-mail; later, ``mnvault audit verify --witness`` checks the chain
against the digest saved from it. The e-mail holds the digest only (``audit.witness``):
sequence number, hash, time, signature and key fingerprint — no number, no personal data, not
even the company's name, since the chain is one for the installation. Each address gets one
e-mail however many companies it audits; each company gets one audit entry saying how many of
its recipients were sent it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from smtplib import SMTPException
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from mnvault.accounts.models import Membership
from mnvault.audit import log as audit
from mnvault.audit import witness
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import Checkpoint
from mnvault.audit.models import Outcome
from mnvault.companies.models import Company
from mnvault.domain import numbers
from mnvault.domain.roles import Capability, roles_with

SCHEDULER = Actor.system("scheduler")
log = logging.getLogger("mnvault.oversight")


class MailRefused(Exception):
    """The e-mail looked like it held an individual number and was not sent."""


def send_witness_digests(*, now: datetime) -> dict[str, int]:
    """Sign the head if it moved, and e-mail the checkpoint to every responsible manager and
    auditor with an address; counts for the scheduler's log. A failed e-mail is recorded in
    each of its recipient's companies, never raised."""
    checkpoint = witness.current_checkpoint()
    if checkpoint is None:
        return {"sent": 0, "failed": 0}
    recipients = _recipients()
    addresses = {a.lower(): a for people in recipients.values() for a in people.values()}
    delivered = {key: _send(addresses[key], checkpoint) for key in sorted(addresses)}
    for company_id, people in recipients.items():
        _record(company_id, people, delivered, checkpoint)
    sent = sum(delivered.values())
    return {"sent": sent, "failed": len(delivered) - sent}


def _recipients() -> dict[int, dict[int, str]]:
    """For every company: its responsible managers' and auditors' addresses, by user id (the
    same address in any case counts once when sending)."""
    found: dict[int, dict[int, str]] = {
        pk: {} for pk in Company.objects.values_list("pk", flat=True)
    }
    memberships = Membership.objects.filter(
        revoked_at__isnull=True,
        role__in=roles_with(Capability.AUDIT_READ),
        user__is_active=True,
    ).values_list("company_id", "user_id", "user__email")
    for company_id, user_id, email in memberships:
        if email and email.strip():
            found.setdefault(company_id, {})[user_id] = email.strip()
    return found


def _send(address: str, checkpoint: Checkpoint) -> bool:
    try:
        message(address, checkpoint).send()
    except (SMTPException, OSError, MailRefused) as error:
        log.error("witness e-mail not sent: %s", type(error).__name__)
        return False
    return True


def message(address: str, checkpoint: Checkpoint) -> EmailMessage:
    """The e-mail, in the installation's language (``oversight/mail/witness.txt``, first
    line the subject); MailRefused if it looks like it holds a number."""
    context = {
        "checkpoint": checkpoint,
        "digest": witness.digest(checkpoint),
        "site": settings.MNVAULT_PUBLIC_URL,
    }
    with translation.override(settings.LANGUAGE_CODE):
        text = render_to_string("oversight/mail/witness.txt", context)
    subject, _, body = text.strip().partition("\n")
    if numbers.holds_number(subject) or numbers.holds_number(body):
        raise MailRefused("witness")
    return EmailMessage(subject=subject.strip(), body=body.strip() + "\n", to=[address])


def _record(
    company_id: int, people: dict[int, str], delivered: dict[str, bool], checkpoint: Checkpoint
) -> None:
    sent = sum(delivered[address.lower()] for address in people.values())
    detail: dict[str, Any] = {
        "checkpoint": checkpoint.seq,
        "recipients": sorted(people),
        "sent": sent,
        "failed": len(people) - sent,
    }
    if not people:
        outcome, reason = Outcome.FAILED, "no_recipients"
    elif sent < len(people):
        outcome, reason = Outcome.FAILED, "send_failed"
    else:
        outcome, reason = Outcome.OK, ""
    with transaction.atomic():
        audit.record(
            actor=SCHEDULER,
            action=Action.AUDIT_WITNESS,
            outcome=outcome,
            reason=reason,
            company_id=company_id,
            detail=detail,
        )
