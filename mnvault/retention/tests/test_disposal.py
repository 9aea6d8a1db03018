"""Disposal: two-person approval, crypto-shredding in the order that never leaves a decryptable
number marked disposed, the sweep after a crash, and refusals afterwards."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connections
from django.utils import timezone

from mnvault.audit.actions import Action
from mnvault.audit.models import AuditEntry, Outcome
from mnvault.companies.purposes import Purpose
from mnvault.conftest import ALL_DATABASES
from mnvault.retention import services
from mnvault.retention.models import BatchStatus, DisposalBatch
from mnvault.usage.tests.factory import staff
from mnvault.vault import disposal
from mnvault.vault.errors import Refused
from mnvault.vault.models import DataKey, NumberRecord, NumberStatus
from mnvault.vault.routers import KEY_STORE
from mnvault.vault.services import reveal_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def leavers(personas, make_number):
    """Three employees who left in 2015 (every hold ended long ago), the first with dependents."""
    scene = staff(personas.company, personas.handler, make_number, 3)
    for entry in scene:
        entry.employee.hire_date = date(2010, 4, 1)
        entry.employee.leave_date = date(2015, 3, 31)
        entry.employee.save()
    return scene


def reveal(personas, person):
    return reveal_number(
        acting_user=personas.responsible_manager, person=person, purpose=Purpose.WITHHOLDING
    )


def second_manager(personas):
    from mnvault.accounts.models import Membership, User
    from mnvault.domain.roles import Role

    user = User.objects.create_user(username="manager2", password="x" * 20)
    Membership.objects.create(user=user, company=personas.company, role=Role.RESPONSIBLE_MANAGER)
    return user


def test_leavers_past_every_hold_are_in_the_queue(personas, leavers):
    due = {d.person.pk for d in services.due_list(personas.company)}
    everyone = {p.pk for s in leavers for p in (s.employee, *s.dependents)}
    assert due == everyone


def test_a_proposed_batch_is_disposed_of_on_a_second_persons_approval(personas, leavers):
    first = leavers[0]
    before = reveal(personas, first.employee)
    batch = services.propose(
        acting_user=personas.handler, company=personas.company, people=[first.employee]
    )
    assert batch.items.count() == 3  # the employee and their two dependents
    batch = services.approve(acting_user=personas.responsible_manager, batch=batch)
    assert batch.status == BatchStatus.DONE and batch.certificate_number
    for person in (first.employee, *first.dependents):
        record = NumberRecord.objects.get(person=person)
        assert record.status == NumberStatus.DISPOSED
        assert record.ciphertext is None and record.number_index is None
        assert record.certificate_number == batch.certificate_number
        assert not DataKey.objects.using(KEY_STORE).filter(person_id=person.pk).exists()
    shredded = AuditEntry.objects.filter(action=Action.DISPOSAL_SHRED)
    assert shredded.count() == 3
    with pytest.raises(Refused) as refused:
        reveal(personas, first.employee)
    assert batch.certificate_number in str(refused.value)
    entry = AuditEntry.objects.filter(action=Action.NUMBER_REVEAL).latest("seq")
    assert (entry.outcome, entry.reason) == (Outcome.REFUSED, "disposed")
    assert before  # it could be read before
    assert reveal(personas, leavers[1].employee)  # others untouched


def test_no_ciphertext_of_a_disposed_person_remains_and_an_old_copy_cannot_be_opened(
    personas, leavers
):
    from mnvault.vault import api
    from mnvault.vault.errors import KeyUnavailable

    first = leavers[0].employee
    record = NumberRecord.objects.get(person=first)
    assert record.ciphertext is not None
    ciphertext = bytes(record.ciphertext)  # as a backup of the data taken before would hold it
    batch = services.propose(acting_user=personas.handler, company=personas.company, people=[first])
    services.approve(acting_user=personas.responsible_manager, batch=batch)
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT ciphertext FROM vault_numberrecord WHERE ciphertext IS NOT NULL")
        remaining = [bytes(row[0]) for row in cursor.fetchall()]
    assert ciphertext not in remaining
    first.refresh_from_db()
    with pytest.raises(KeyUnavailable):
        api.open_number(first, api.Field.NUMBER, ciphertext)


def test_the_proposer_cannot_approve_and_the_refusal_is_audited(personas, leavers):
    batch = services.propose(
        acting_user=personas.responsible_manager,
        company=personas.company,
        people=[leavers[1].employee],
    )
    with pytest.raises(Refused):
        services.approve(acting_user=personas.responsible_manager, batch=batch)
    entry = AuditEntry.objects.get(action=Action.DISPOSAL_APPROVE)
    assert (entry.outcome, entry.reason) == (Outcome.REFUSED, "two_person")
    assert DisposalBatch.objects.get(pk=batch.pk).status == BatchStatus.PROPOSED
    services.approve(acting_user=second_manager(personas), batch=batch)
    assert DisposalBatch.objects.get(pk=batch.pk).status == BatchStatus.DONE


@pytest.mark.parametrize(
    "role", ["staff", "auditor", "company_admin", "installation_admin", "other_handler"]
)
def test_roles_that_may_not_propose_are_refused_and_audited(personas, leavers, role):
    with pytest.raises(Refused):
        services.propose(
            acting_user=getattr(personas, role),
            company=personas.company,
            people=[leavers[1].employee],
        )
    entry = AuditEntry.objects.get(action=Action.DISPOSAL_PROPOSE)
    assert (entry.outcome, entry.reason) == (Outcome.REFUSED, "role")


@pytest.mark.parametrize(
    "role", ["handler", "staff", "auditor", "company_admin", "installation_admin"]
)
def test_roles_that_may_not_approve_are_refused_and_audited(personas, leavers, role):
    batch = services.propose(
        acting_user=personas.responsible_manager,
        company=personas.company,
        people=[leavers[1].employee],
    )
    with pytest.raises(Refused):
        services.approve(acting_user=getattr(personas, role), batch=batch)
    entry = AuditEntry.objects.get(action=Action.DISPOSAL_APPROVE)
    assert (entry.outcome, entry.reason) == (Outcome.REFUSED, "role")


def test_an_employee_still_employed_needs_a_reason_to_be_disposed_of_early(personas, make_number):
    (entry,) = staff(personas.company, personas.handler, make_number, 1, dependents_every=5)
    with pytest.raises(services.DisposalProblem) as refused:
        services.propose(
            acting_user=personas.handler, company=personas.company, people=[entry.employee]
        )
    assert refused.value.code == "held"
    batch = services.propose(
        acting_user=personas.handler,
        company=personas.company,
        people=[entry.employee],
        early_reasons={entry.employee.pk: "本人からの削除請求"},
    )
    item = batch.items.get(person=entry.employee)
    assert item.early_reason == "本人からの削除請求" and item.holds
    assert {h["rule"] for h in item.holds} == {"employment"}
    # Dependents go with their employee, under the same reason.
    assert batch.items.count() == 3
    assert set(batch.items.values_list("early_reason", flat=True)) == {"本人からの削除請求"}


def test_a_crash_between_the_key_store_and_the_data_commit_leaves_nothing_decryptable(
    personas, leavers, monkeypatch
):
    person = leavers[1].employee
    batch = services.propose(
        acting_user=personas.handler, company=personas.company, people=[person]
    )

    def crash(*args, **kwargs):
        raise SystemExit("killed between the two commits")

    monkeypatch.setattr(disposal, "mark_disposed", crash)
    with pytest.raises(SystemExit):
        services.approve(acting_user=personas.responsible_manager, batch=batch)
    record = NumberRecord.objects.get(person=person)
    assert record.status == NumberStatus.ACTIVE and record.ciphertext is not None  # not marked
    with pytest.raises(Exception):
        from mnvault.vault import api

        api.open_number(person, api.Field.NUMBER, record.ciphertext)
    monkeypatch.undo()
    assert services.sweep() == 1
    record.refresh_from_db()
    assert record.status == NumberStatus.DISPOSED and record.ciphertext is None


def test_an_approved_batch_for_a_later_day_waits_for_the_scheduler(personas, leavers):
    later = timezone.localdate() + timedelta(days=3)
    batch = services.propose(
        acting_user=personas.handler,
        company=personas.company,
        people=[leavers[2].employee],
        dispose_on=later,
    )
    services.approve(acting_user=personas.responsible_manager, batch=batch)
    assert DisposalBatch.objects.get(pk=batch.pk).status == BatchStatus.APPROVED
    assert services.sweep() == 0
    assert reveal(personas, leavers[2].employee)


def test_the_batch_certificate_verifies_offline_and_holds_no_number(personas, leavers, settings):
    from pypdf import PdfReader

    from mnvault.audit.checkpoints import public_key
    from mnvault.retention import certificate

    settings.MNVAULT_KEYSTORE_BACKUP_DAYS = 30
    first = leavers[0]
    numbers = [reveal(personas, p) for p in (first.employee, *first.dependents)]
    batch = services.propose(
        acting_user=personas.handler, company=personas.company, people=[first.employee]
    )
    batch = services.approve(acting_user=personas.responsible_manager, batch=batch)
    done = DisposalBatch.objects.get(pk=batch.pk)
    expiry = timezone.localdate(done.disposed_at) + timedelta(days=30)
    facts = done.certificate_facts
    assert facts is not None and facts["key_backups_expire_on"] == expiry.isoformat()
    pdf = services.certificate_pdf(acting_user=personas.auditor, batch=batch)
    verdict = certificate.verify_certificate(pdf, public_key())
    assert verdict.ok, verdict.problems
    assert verdict.number == batch.certificate_number
    import io

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert str(first.employee) in text
    assert f"{expiry.year}年{expiry.month}月{expiry.day}日" in text.replace(" ", "")
    assert not any(n in text.replace(" ", "") for n in numbers)
    entry = AuditEntry.objects.get(action=Action.DISPOSAL_CERTIFICATE_DOWNLOAD)
    assert entry.actor_id == personas.auditor.pk
    with pytest.raises(Refused):
        services.certificate_pdf(acting_user=personas.staff, batch=batch)


@pytest.fixture
def smtp(settings):
    """A real SMTP server on localhost (aiosmtpd)."""
    from aiosmtpd.controller import Controller

    from mnvault.collection.tests.test_e2e_registration import Inbox, free_port

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    yield inbox
    controller.stop()


def test_a_disposed_person_with_an_address_receives_their_own_certificate(personas, leavers, smtp):
    from mnvault.audit.checkpoints import public_key
    from mnvault.retention import certificate
    from mnvault.scheduler import tasks

    first, other = leavers[0].employee, leavers[1].employee
    number = reveal(personas, first)
    first.email = "ichiro@example.test"
    first.save()
    batch = services.propose(
        acting_user=personas.handler, company=personas.company, people=[first, other]
    )
    services.approve(acting_user=personas.responsible_manager, batch=batch)
    tasks.run_pending()
    message = smtp.wait(1)
    assert message["To"] == "ichiro@example.test"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert number not in body and str(other) not in body
    (attachment,) = list(message.iter_attachments())
    pdf = attachment.get_content()
    verdict = certificate.verify_certificate(pdf, public_key())
    assert verdict.ok, verdict.problems
    import io

    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert str(first) in text and str(other) not in text  # only the person themself
    assert number not in text.replace(" ", "")
    assert len(smtp.messages) == 1  # the other leaver has no address


def collected(personas, person, dependent):
    """What collection keeps of a person: a submission with its sealed number, a submitted
    dependent's sealed number and a document photo."""
    from mnvault.collection.models import (
        IdentityDocument,
        Invitation,
        Submission,
        SubmittedDependent,
    )

    invitation = Invitation.objects.create(
        company=personas.company,
        person=person,
        token_hash=f"{person.pk:064d}",
        delivery="email",
        expires_at=timezone.now() + timedelta(days=1),
    )
    submission = Submission.objects.create(
        company=personas.company,
        person=person,
        invitation=invitation,
        status="approved",
        number_ciphertext=b"sealed",
    )
    SubmittedDependent.objects.create(
        submission=submission,
        family_name=dependent.family_name,
        given_name=dependent.given_name,
        family_name_kana=dependent.family_name_kana,
        given_name_kana=dependent.given_name_kana,
        relationship=dependent.relationship,
        birth_date=dependent.birth_date,
        number_ciphertext=b"sealed",
        person=dependent,
    )
    IdentityDocument.objects.create(
        submission=submission,
        kind="my_number_card",
        content_type="image/jpeg",
        size=6,
        ciphertext=b"sealed",
    )
    return submission


def test_disposal_deletes_what_collection_kept_of_the_batch_only(personas, leavers):
    from mnvault.collection.models import IdentityDocument, Submission, SubmittedDependent

    first, second = leavers[0], leavers[2]
    disposed = collected(personas, first.employee, first.dependents[0])
    kept = collected(personas, second.employee, second.dependents[0])
    batch = services.propose(
        acting_user=personas.handler, company=personas.company, people=[first.employee]
    )
    services.approve(acting_user=second_manager(personas), batch=batch)
    assert not IdentityDocument.objects.filter(submission=disposed).exists()
    assert Submission.objects.get(pk=disposed.pk).number_ciphertext is None
    assert SubmittedDependent.objects.get(submission=disposed).number_ciphertext is None
    assert IdentityDocument.objects.filter(submission=kept).count() == 1
    still = Submission.objects.get(pk=kept.pk).number_ciphertext
    dependent = SubmittedDependent.objects.get(submission=kept).number_ciphertext
    assert still is not None and bytes(still) == b"sealed"
    assert dependent is not None and bytes(dependent) == b"sealed"


def test_a_certificate_number_never_looks_like_an_individual_number():
    """The audit log refuses an entry holding something that validates as a number; the
    shredding entries carry the certificate number, after the keys are gone."""
    from mnvault.domain.numbers import holds_number

    made = {services.new_certificate_number(DisposalBatch(pk=1)) for _ in range(3000)}
    assert len(made) > 2900
    assert not [n for n in made if holds_number(f'{{"batch":1,"certificate":"{n}"}}')]
