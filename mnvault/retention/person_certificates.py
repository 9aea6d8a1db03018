"""A disposed person's own certificate: on request, and e-mailed to them when an address is on
file (no peer tells the person). Each certifies that one person only — the batch's other people
are not named — so it has its own ``disposal.certify`` entry, written in groups with one signed
checkpoint per group so that each proof stays short.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Sequence
from smtplib import SMTPException
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from mnvault.accounts.models import User
from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import write_checkpoint
from mnvault.domain.roles import Capability
from mnvault.people.models import Person
from mnvault.retention import certificate
from mnvault.retention.models import DisposalBatch, DisposalItem
from mnvault.scheduler import tasks
from mnvault.vault.services import as_actor, require

log = logging.getLogger("mnvault.retention")
GROUP = 25  # certify entries per signed checkpoint: each proof holds at most this many


def data_of(item: DisposalItem, language: str = "ja") -> certificate.CertificateData:
    """The batch's facts narrowed to this person, under a number of its own."""
    batch = item.batch
    if batch.certificate_facts is None:
        raise ValueError("the batch has no certificate yet")
    whole = certificate.data_from_facts(batch.certificate_facts, language)
    subject = next(s for s in whole.subjects if s.person_id == item.person_id)
    return dataclasses.replace(
        whole, number=f"{batch.certificate_number}-P{item.pk}", subjects=(subject,)
    )


def certify(items: Sequence[DisposalItem], actor: Actor) -> None:
    """Certify entries for ``items`` without one, one transaction; then one checkpoint and
    the proofs (after the commit: see ``certificate.build_proof``)."""
    todo = [item for item in items if item.certificate_seq is None]
    if not todo:
        return
    with transaction.atomic():
        for item in todo:
            data = data_of(item)
            entry = audit.record(
                actor=actor,
                action=Action.DISPOSAL_CERTIFY,
                company_id=item.batch.company_id,
                person_id=item.person_id,
                detail={
                    "batch": item.batch_id,
                    "certificate": data.number,
                    "digest": certificate.facts_digest(data),
                },
            )
            item.certificate_seq = entry.seq
            DisposalItem.objects.filter(pk=item.pk).update(certificate_seq=entry.seq)
    write_checkpoint()
    for item in todo:
        assert item.certificate_seq is not None
        item.certificate_proof = certificate.build_proof(certificate_entry_seq=item.certificate_seq)
        DisposalItem.objects.filter(pk=item.pk).update(certificate_proof=item.certificate_proof)


def pdf_of(item: DisposalItem, language: str = "ja") -> bytes:
    if item.certificate_proof is None:
        raise ValueError("the person's certificate has no proof yet")
    out = io.BytesIO()
    certificate.certificate_pdf(data_of(item, language), item.certificate_proof, out)
    return out.getvalue()


def person_certificate_pdf(
    *,
    acting_user: User | Actor,
    item: DisposalItem,
    language: str = "ja",
    client_address: str = "",
) -> bytes:
    """One person's certificate, on request (for the person, or an authority); audited."""
    actor = as_actor(acting_user)
    detail = {"batch": item.batch_id, "certificate": item.batch.certificate_number}
    require(
        actor,
        item.batch.company,
        Capability.DISPOSAL_VIEW,
        Action.DISPOSAL_CERTIFICATE_DOWNLOAD,
        detail=detail,
        client_address=client_address,
    )
    certify([item], actor)
    pdf = pdf_of(item, language)
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=Action.DISPOSAL_CERTIFICATE_DOWNLOAD,
            company_id=item.batch.company_id,
            person_id=item.person_id,
            client_address=client_address,
            detail=detail,
        )
    return pdf


def queue_mail(batch: DisposalBatch) -> None:
    """After a disposal: the people with an address get their certificate, in the background."""
    has_address = DisposalItem.objects.filter(batch=batch, mailed_at__isnull=True).exclude(
        person__email=""
    )
    if has_address.exists():
        tasks.enqueue(
            "mnvault.retention.person_certificates.mail_certificates",
            kwargs={"batch_id": batch.pk},
            label="disposal certificates",
            company_id=batch.company_id,
        )


def mail_certificates(*, task_id: int, batch_id: int) -> dict[str, Any]:
    """The task: certify, render and send each person's certificate, a group at a time."""
    actor = Actor.system("disposal")
    items = list(
        DisposalItem.objects.filter(batch_id=batch_id, mailed_at__isnull=True)
        .exclude(person__email="")
        .select_related("batch", "person")
        .order_by("pk")
    )
    sent = failed = 0
    for start in range(0, len(items), GROUP):
        group = items[start : start + GROUP]
        certify(group, actor)
        for item in group:
            if _send(item):
                DisposalItem.objects.filter(pk=item.pk).update(mailed_at=timezone.now())
                sent += 1
            else:
                failed += 1
        tasks.report_progress(task_id, min(start + GROUP, len(items)), len(items))
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=Action.DISPOSAL_CERTIFICATES_MAILED,
            company_id=items[0].batch.company_id if items else None,
            detail={"batch": batch_id, "sent": sent, "failed": failed},
        )
    return {"sent": sent, "failed": failed}


def _send(item: DisposalItem) -> bool:
    person: Person = item.person
    data = data_of(item)
    context = {"company_name": data.company_name, "number": data.number}
    with translation.override(settings.LANGUAGE_CODE):
        text = render_to_string("retention/mail/certificate.txt", context)
        pdf = pdf_of(item, settings.LANGUAGE_CODE)
    subject, _, body = text.strip().partition("\n")
    message = EmailMessage(subject=subject.strip(), body=body.strip() + "\n", to=[person.email])
    message.attach(f"{data.number}.pdf", pdf, "application/pdf")
    try:
        message.send()
    except (SMTPException, OSError) as error:
        log.error("disposal certificate not sent: %s", type(error).__name__)
        return False
    return True
