"""Telling the responsible managers when people become due for disposal (issue 12, item 2):
once per person, by e-mail, naming no one (the page lists them)."""

from __future__ import annotations

import logging
from datetime import datetime
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from mnvault.accounts.models import Membership
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import Outcome
from mnvault.companies.models import Company
from mnvault.domain.roles import Capability, roles_with
from mnvault.retention.models import DueNotice
from mnvault.retention.services import due_list

log = logging.getLogger("mnvault.retention")
NOTICE_DAYS = 30  # people due within this many days are announced


def notify_due(*, now: datetime) -> int:
    """For each company, e-mail its responsible managers the count of people newly due; the
    number of companies told."""
    told = 0
    for company in Company.objects.order_by("pk"):
        due = due_list(company, within_days=NOTICE_DAYS)
        known = set(
            DueNotice.objects.filter(person_id__in=[d.person.pk for d in due]).values_list(
                "person_id", flat=True
            )
        )
        new = [d for d in due if d.person.pk not in known]
        if not new:
            continue
        addresses = sorted(
            {
                email.strip()
                for email in Membership.objects.filter(
                    company=company,
                    revoked_at__isnull=True,
                    user__is_active=True,
                    role__in=roles_with(Capability.DISPOSAL_APPROVE),
                ).values_list("user__email", flat=True)
                if email and email.strip()
            }
        )
        sent = bool(addresses) and _send(company, len(new), addresses)
        with transaction.atomic():
            if sent:
                DueNotice.objects.bulk_create(
                    [DueNotice(company=company, person=d.person) for d in new],
                    ignore_conflicts=True,
                )
            audit.record(
                actor=Actor.system("scheduler"),
                action=Action.DISPOSAL_DUE_NOTICE,
                outcome=Outcome.OK if sent else Outcome.FAILED,
                reason="" if sent else ("send_failed" if addresses else "no_recipients"),
                company_id=company.pk,
                detail={"people": len(new), "recipients": len(addresses)},
            )
        told += sent
    return told


def _send(company: Company, count: int, addresses: list[str]) -> bool:
    context = {"company": company, "count": count, "site": settings.MNVAULT_PUBLIC_URL}
    with translation.override(settings.LANGUAGE_CODE):
        text = render_to_string("retention/mail/due.txt", context)
    subject, _, body = text.strip().partition("\n")
    try:
        EmailMessage(subject=subject.strip(), body=body.strip() + "\n", bcc=addresses).send()
    except (SMTPException, OSError) as error:
        log.error("disposal notice not sent: %s", type(error).__name__)
        return False
    return True
