"""The daily witness e-mail: the latest signed checkpoint sent through a real SMTP server
(aiosmtpd, started here) to each company's responsible managers and auditors, one e-mail per
address, recorded per company — and a digest saved from it checks the chain later."""

from __future__ import annotations

import socket
import time
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.utils import timezone, translation

from mnvault.accounts.models import Membership, Role
from mnvault.audit import witness
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.log import record
from mnvault.audit.models import AuditEntry, Outcome
from mnvault.audit.verify import verify
from mnvault.conftest import ALL_DATABASES
from mnvault.domain import numbers
from mnvault.oversight.witness import send_witness_digests
from mnvault.scheduler.jobs import JOBS
from mnvault.scheduler.runner import run_due_jobs

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

ADDRESSES = {
    "responsible_manager": "manager@example.jp",
    "auditor": "auditor@example.jp",
    "handler": "handler@example.jp",
    "staff": "staff@example.jp",
    "company_admin": "admin@example.jp",
    "other_handler": "other@example.jp",
}


class Inbox:
    """An aiosmtpd handler keeping every message it receives, with its recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def to(self) -> list[str]:
        return sorted(address for rcpt, _ in self.messages for address in rcpt)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.MNVAULT_PUBLIC_URL = "https://vault.example.jp"
    yield inbox
    controller.stop()


@pytest.fixture
def addressed(personas):
    for persona, address in ADDRESSES.items():
        user = getattr(personas, persona)
        user.email = address
        user.save(update_fields=["email"])
    return personas


@pytest.fixture
def entries() -> None:
    for i in range(3):
        with transaction.atomic():
            record(actor=Actor.system("test"), action=Action.DEMO_CREATE, detail={"i": i})


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def witnessed(company) -> AuditEntry:
    return AuditEntry.objects.get(action=Action.AUDIT_WITNESS, company_id=company.pk)


def test_managers_and_auditors_with_an_address_get_the_checkpoint(smtp, addressed, entries):
    counts = send_witness_digests(now=timezone.now())
    assert counts == {"sent": 2, "failed": 0}
    assert smtp.to() == ["auditor@example.jp", "manager@example.jp"]  # one e-mail each
    head = AuditEntry.objects.filter(action=Action.DEMO_CREATE).latest("seq")
    for _, message in smtp.messages:
        assert message["Subject"].strip() == f"[mnvault] 監査ログのチェックポイント #{head.seq}"
        body = body_of(message)
        assert witness.DIGEST_BEGIN in body and witness.DIGEST_END in body
        assert "https://vault.example.jp" in body


def test_the_e_mail_holds_no_number_and_no_personal_data(smtp, addressed, entries, personas):
    for user in (personas.responsible_manager, personas.auditor):
        user.first_name, user.last_name = "花子", "監査"
        user.save(update_fields=["first_name", "last_name"])
    send_witness_digests(now=timezone.now())
    for rcpt, message in smtp.messages:
        text = f"{message['Subject']}\n{body_of(message)}"
        assert not numbers.holds_number(text)
        for personal in (personas.company.name, "花子", "監査 花子", rcpt[0].split("@")[0]):
            assert personal not in text


def test_a_digest_saved_from_the_e_mail_checks_the_chain(smtp, addressed, entries, tmp_path):
    send_witness_digests(now=timezone.now())
    _, message = smtp.messages[0]
    saved = tmp_path / "saved-mail.txt"
    saved.write_text(body_of(message), encoding="utf-8")
    found = witness.read_witnesses(saved)
    assert len(found) == 1
    chain = verify()
    with translation.override("en"):
        result = witness.check_chain(found, entries=chain.entries, source="saved-mail.txt")
    assert result.ok, result.message


def test_each_company_gets_an_audit_entry(smtp, addressed, entries, personas):
    send_witness_digests(now=timezone.now())
    mine = witnessed(personas.company)
    assert (mine.outcome, mine.reason, mine.actor_label) == (Outcome.OK, "", "scheduler")
    assert mine.detail == {
        "checkpoint": mine.seq - 1,  # the head signed just before the entries of the round
        "recipients": sorted([personas.responsible_manager.pk, personas.auditor.pk]),
        "sent": 2,
        "failed": 0,
    }
    other = witnessed(personas.other_company)  # only a handler there: no one to send it to
    assert (other.outcome, other.reason, other.detail["recipients"]) == (
        Outcome.FAILED,
        "no_recipients",
        [],
    )


def test_an_address_auditing_two_companies_gets_one_e_mail(smtp, addressed, entries, personas):
    Membership.objects.create(
        user=personas.auditor, company=personas.other_company, role=Role.AUDITOR
    )
    send_witness_digests(now=timezone.now())
    assert smtp.to() == ["auditor@example.jp", "manager@example.jp"]
    assert witnessed(personas.other_company).detail["recipients"] == [personas.auditor.pk]


def test_no_e_mail_for_a_revoked_role_an_inactive_user_or_no_address(
    smtp, addressed, entries, personas
):
    Membership.objects.filter(user=personas.auditor).update(revoked_at=timezone.now())
    personas.responsible_manager.is_active = False
    personas.responsible_manager.save(update_fields=["is_active"])
    send_witness_digests(now=timezone.now())
    assert smtp.messages == []
    assert witnessed(personas.company).reason == "no_recipients"


def test_a_mail_server_that_is_down_is_recorded_not_raised(settings, addressed, entries, personas):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    assert send_witness_digests(now=timezone.now()) == {"sent": 0, "failed": 2}
    mine = witnessed(personas.company)
    assert (mine.outcome, mine.reason, mine.detail["failed"]) == (Outcome.FAILED, "send_failed", 2)


def test_an_empty_log_sends_nothing(smtp, addressed):
    assert send_witness_digests(now=timezone.now()) == {"sent": 0, "failed": 0}
    assert smtp.messages == [] and not AuditEntry.objects.exists()


def test_the_scheduler_runs_it_daily(smtp, addressed, entries):
    job = next(job for job in JOBS if job.name == "audit.witness")
    assert job.every == timedelta(days=1)
    now = timezone.now()
    assert run_due_jobs(now=now, holder="me", jobs=[job]) == ["audit.witness"]
    deadline = time.monotonic() + 5
    while len(smtp.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(smtp.messages) == 2
    assert run_due_jobs(now=now + timedelta(hours=23), holder="me", jobs=[job]) == []
    assert run_due_jobs(now=now + timedelta(days=1), holder="me", jobs=[job]) == ["audit.witness"]
