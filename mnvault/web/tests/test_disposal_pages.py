"""The disposal pages as staff use them: a handler proposes from the queue, a second
responsible manager approves, the certificate downloads and verifies; the two-person rule and
the roles as the service enforces them (403 with its message, audited) or the page (404); bad
inputs shown with the service's message; retention on the person page."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from mnvault.accounts.models import Membership, User
from mnvault.audit.actions import Action
from mnvault.audit.checkpoints import public_key
from mnvault.audit.models import AuditEntry, Outcome
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.domain.numbers import holds_number
from mnvault.domain.roles import Role
from mnvault.retention.certificate import verify_certificate
from mnvault.retention.models import BatchStatus, Declaration, DisposalBatch
from mnvault.retention.services import new_certificate_number as service_certificate_number
from mnvault.usage.tests.factory import staff
from mnvault.vault.models import NumberRecord, NumberStatus

pytestmark = [
    pytest.mark.django_db(databases=ALL_DATABASES),
]


@pytest.fixture
def leavers(personas, make_number):
    """Three employees who left in 2015 (every hold ended long ago), the first with dependents."""
    scene = staff(personas.company, personas.handler, make_number, 3)
    for entry in scene:
        entry.employee.hire_date = date(2010, 4, 1)
        entry.employee.leave_date = date(2015, 3, 31)
        entry.employee.save()
    return scene


@pytest.fixture
def leaving_soon(personas, make_number):
    """An employee leaving in 30 days (with two dependents): in the queue as coming due."""
    scene = staff(personas.company, personas.handler, make_number, 1)
    employee = scene[0].employee
    employee.leave_date = timezone.localdate() + timedelta(days=30)
    employee.save()
    return employee


@pytest.fixture
def second_manager(personas) -> User:
    user = User.objects.create_user(username="manager2", password="x" * 20)
    Membership.objects.create(user=user, company=personas.company, role=Role.RESPONSIBLE_MANAGER)
    return user


def queue_url(company) -> str:
    return reverse("web:disposal", args=[company.pk])


def batch_url(batch) -> str:
    return reverse("web:disposal_batch", args=[batch.company_id, batch.pk])


def propose(client, company, people, on=None, reasons=None):
    body = {
        "people": [p.pk for p in people],
        "dispose_on": (on or timezone.localdate()).isoformat(),
    }
    body |= {f"reason-{pk}": reason for pk, reason in (reasons or {}).items()}
    return client.post(queue_url(company), body)


def test_a_handler_proposes_a_second_manager_approves_and_the_certificate_verifies(
    signed_in, personas, leavers
):
    handler = signed_in(personas.handler)
    page = handler.get(queue_url(personas.company)).content.decode()
    first = leavers[0].employee
    assert f'id="due-{first.pk}" data-due="now"' in page and "2015-04-01" in page
    response = propose(handler, personas.company, [first])
    batch = DisposalBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == batch_url(batch)
    shown = handler.get(batch_url(batch)).content.decode()
    assert "廃棄を申請しました" in shown and "起案者" in shown and "handler" in shown
    assert "承認して廃棄する" not in shown  # a handler does not decide
    manager = signed_in(personas.responsible_manager)
    assert "承認して廃棄する" in manager.get(batch_url(batch)).content.decode()
    assert manager.post(batch_url(batch), {"action": "approve"}).status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE and batch.items.count() == 3  # with dependents
    done = manager.get(batch_url(batch)).content.decode()
    assert batch.certificate_number in done and "廃棄日時" in done
    for language in ("ja", "en"):
        url = reverse("web:disposal_certificate", args=[personas.company.pk, batch.pk])
        pdf = handler.get(url, {"language": language})
        assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
        assert verify_certificate(pdf.content, public_key()).ok
    downloads = AuditEntry.objects.filter(action=Action.DISPOSAL_CERTIFICATE_DOWNLOAD)
    assert downloads.count() == 2
    # One person's own certificate names only them.
    item = batch.items.get(person=first)
    own = handler.get(
        reverse("web:disposal_person_certificate", args=[personas.company.pk, batch.pk, item.pk])
    )
    assert own["Content-Type"] == "application/pdf"
    assert verify_certificate(own.content, public_key()).ok
    others = [i.person for i in batch.items.exclude(pk=item.pk)]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(own.content)).pages)
    assert str(first.family_name) in text and not any(str(o) in text for o in others)
    assert downloads.count() == 3
    assert NumberRecord.objects.get(person=first).status == NumberStatus.DISPOSED


def test_the_proposer_cannot_approve_and_is_told_another_manager_must(
    signed_in, personas, leavers, second_manager
):
    manager = signed_in(personas.responsible_manager)
    propose(manager, personas.company, [leavers[1].employee])
    batch = DisposalBatch.objects.get()
    page = manager.get(batch_url(batch)).content.decode()
    assert "別の事務取扱責任者の承認が必要です" in page and "承認して廃棄する" not in page
    refused = manager.post(batch_url(batch), {"action": "approve"})
    assert refused.status_code == 403
    assert "申請者は自分の申請を承認できません" in refused.content.decode()
    entry = AuditEntry.objects.get(action=Action.DISPOSAL_APPROVE)
    assert (entry.outcome, entry.reason) == (Outcome.REFUSED, "two_person")
    assert DisposalBatch.objects.get().status == BatchStatus.PROPOSED
    signed_in(second_manager).post(batch_url(batch), {"action": "approve"})
    assert DisposalBatch.objects.get().status == BatchStatus.DONE


def test_a_manager_rejects_a_batch_with_a_reason(signed_in, personas, leavers):
    propose(signed_in(personas.handler), personas.company, [leavers[1].employee])
    batch = DisposalBatch.objects.get()
    manager = signed_in(personas.responsible_manager)
    manager.post(batch_url(batch), {"action": "reject", "reason": "年度末にまとめて廃棄する"})
    batch.refresh_from_db()
    assert batch.status == BatchStatus.REJECTED
    assert "年度末にまとめて廃棄する" in manager.get(batch_url(batch)).content.decode()
    # Rejected, the person is back in the queue.
    page = manager.get(queue_url(personas.company)).content.decode()
    assert f'id="due-{leavers[1].employee.pk}"' in page


@pytest.mark.parametrize("role", ["staff", "company_admin", "installation_admin", "other_handler"])
def test_roles_without_disposal_get_404(signed_in, personas, leavers, role):
    propose(signed_in(personas.handler), personas.company, [leavers[1].employee])
    batch = DisposalBatch.objects.get()
    client = signed_in(getattr(personas, role))
    company = personas.company
    assert client.get(queue_url(company)).status_code == 404
    assert propose(client, company, [leavers[2].employee]).status_code == 404
    assert client.get(batch_url(batch)).status_code == 404
    assert client.post(batch_url(batch), {"action": "approve"}).status_code == 404
    declarations = reverse("web:disposal_declarations", args=[company.pk])
    assert client.post(declarations, {"year": "2025"}).status_code == 404
    assert DisposalBatch.objects.count() == 1 and batch.items.count() == 1


def test_the_auditor_sees_but_cannot_propose_or_approve(signed_in, personas, leavers):
    propose(signed_in(personas.handler), personas.company, [leavers[1].employee])
    batch = DisposalBatch.objects.get()
    auditor = signed_in(personas.auditor)
    page = auditor.get(queue_url(personas.company)).content.decode()
    assert 'name="people"' not in page and f"#{batch.pk}" in page
    refused = propose(auditor, personas.company, [leavers[2].employee])
    assert refused.status_code == 403 and 'role="alert"' in refused.content.decode()
    page = auditor.get(batch_url(batch)).content.decode()
    assert "承認して廃棄する" not in page
    assert auditor.post(batch_url(batch), {"action": "approve"}).status_code == 403
    refusals = AuditEntry.objects.filter(outcome=Outcome.REFUSED)
    assert set(refusals.values_list("action", flat=True)) == {
        Action.DISPOSAL_PROPOSE,
        Action.DISPOSAL_APPROVE,
    }
    assert DisposalBatch.objects.get().status == BatchStatus.PROPOSED


def test_the_handler_cannot_approve(signed_in, personas, leavers):
    propose(signed_in(personas.responsible_manager), personas.company, [leavers[1].employee])
    batch = DisposalBatch.objects.get()
    assert (
        signed_in(personas.handler).post(batch_url(batch), {"action": "approve"}).status_code == 403
    )
    assert DisposalBatch.objects.get().status == BatchStatus.PROPOSED


def test_a_past_date_is_refused_with_the_message(signed_in, personas, leavers):
    yesterday = timezone.localdate() - timedelta(days=1)
    response = propose(
        signed_in(personas.handler), personas.company, [leavers[0].employee], yesterday
    )
    assert response.status_code == 200
    assert "廃棄日が過去の日付です。" in response.content.decode()
    assert not DisposalBatch.objects.exists()


def test_choosing_nobody_is_refused_with_the_message(signed_in, personas, leavers):
    response = propose(signed_in(personas.handler), personas.company, [])
    assert "1人以上選んでください。" in response.content.decode()
    assert not DisposalBatch.objects.exists()


def test_an_early_disposal_names_the_hold_and_needs_a_reason(signed_in, personas, leaving_soon):
    handler = signed_in(personas.handler)
    page = handler.get(queue_url(personas.company)).content.decode()
    assert f'id="due-{leaving_soon.pk}" data-due="soon"' in page
    response = propose(handler, personas.company, [leaving_soon])
    text = response.content.decode()
    until = leaving_soon.leave_date.isoformat()
    assert f"{until} まで法定の保存義務（在職（退職日まで））" in text
    # What was chosen stays chosen, to add the reason.
    assert f'value="{leaving_soon.pk}" id="choose-{leaving_soon.pk}"' in text
    assert not DisposalBatch.objects.exists()
    response = propose(
        handler, personas.company, [leaving_soon], reasons={leaving_soon.pk: "本人の求め"}
    )
    assert response.status_code == 302
    item = DisposalBatch.objects.get().items.get(person=leaving_soon)
    assert item.early_reason == "本人の求め" and item.holds[0]["until"] == until
    shown = handler.get(batch_url(item.batch)).content.decode()
    assert "本人の求め" in shown and f"{until} まで" in shown


def test_a_later_disposal_date_waits_for_that_day(signed_in, personas, leavers, second_manager):
    year_end = date(timezone.localdate().year + 1, 3, 31)
    propose(signed_in(personas.handler), personas.company, [leavers[2].employee], year_end)
    batch = DisposalBatch.objects.get()
    manager = signed_in(second_manager)
    manager.post(batch_url(batch), {"action": "approve"})
    page = manager.get(batch_url(batch)).content.decode()
    assert DisposalBatch.objects.get().status == BatchStatus.APPROVED
    assert f"番号は {year_end.isoformat()} に廃棄されます" in page
    certificate = reverse("web:disposal_certificate", args=[personas.company.pk, batch.pk])
    assert manager.get(certificate).status_code == 404  # no certificate before the disposal


def test_declarations_for_the_payroll_are_recorded_in_one_step(signed_in, personas, leavers):
    current = make_person(personas.company, hire_date=date(2020, 4, 1))
    url = reverse("web:disposal_declarations", args=[personas.company.pk])
    handler = signed_in(personas.handler)
    response = handler.post(url, {"year": "2025", "without_numbers": "on"}, follow=True)
    page = response.content.decode()
    # On the payroll in 2025: the current employee only (the leavers left in 2015).
    assert "2025年分の申告書を従業員1人について記録しました。" in page
    declaration = Declaration.objects.get()
    assert declaration.employee == current and declaration.without_numbers
    assert '<tr><th scope="row">2025</th><td>1</td></tr>' in page
    retention = handler.get(reverse("web:person", args=[personas.company.pk, current.pk]))
    assert "2033-01-10" in retention.content.decode()  # domain R25's example, via the register
    assert signed_in(personas.auditor).get(url).status_code == 404


def test_the_person_page_shows_the_holds_and_after_disposal_the_certificate(
    signed_in, personas, leavers
):
    first = leavers[0].employee
    url = reverse("web:person", args=[personas.company.pk, first.pk])
    handler = signed_in(personas.handler)
    page = handler.get(url).content.decode()
    section = page.split('id="retention"')[1].split("</section>")[0]
    assert "在職（退職日まで）" in section and "2015-03-31" in section and "domain R29" in section
    assert "2015-04-01" in section.split('id="retention-due"')[1]
    assert 'id="retention"' not in signed_in(personas.staff).get(url).content.decode()
    propose(handler, personas.company, [first])
    signed_in(personas.responsible_manager).post(
        batch_url(DisposalBatch.objects.get()), {"action": "approve"}
    )
    number = DisposalBatch.objects.get().certificate_number
    today = timezone.localdate().isoformat()
    page = handler.get(url).content.decode()
    assert f"廃棄済み {today}（削除証明書 {number}）" in page.split('id="retention"')[1]
    assert f"廃棄済み {today}" in signed_in(personas.staff).get(url).content.decode()


def test_the_dashboard_and_ledger_count_those_due(signed_in, personas, leavers):
    handler = signed_in(personas.handler)
    dashboard = handler.get(reverse("web:dashboard", args=[personas.company.pk])).content.decode()
    # Three employees and two dependents of the first (every other one has dependents: 0, 2).
    due = 3 + 2 * 2
    assert f"廃棄期限の到来 {due}人" in dashboard and queue_url(personas.company) in dashboard
    staff_page = signed_in(personas.staff).get(reverse("web:dashboard", args=[personas.company.pk]))
    assert "廃棄期限の到来" not in staff_page.content.decode()
    ledger = handler.get(reverse("web:ledger", args=[personas.company.pk])).content.decode()
    employees = ledger.split('<tr id="file-employee">')[1].split("</tr>")[0]
    dependents = ledger.split('<tr id="file-dependent">')[1].split("</tr>")[0]
    assert '<td class="due">3</td>' in employees and '<td class="due">4</td>' in dependents


def test_a_certificate_number_never_looks_like_an_individual_number(personas, leavers):
    batch = DisposalBatch.objects.create(
        company=personas.company, status=BatchStatus.PROPOSED, dispose_on=timezone.localdate()
    )
    # One in about 70 numbers of a batch below 1,000,000 is refused: 2,000 tries find one.
    assert not any(holds_number(service_certificate_number(batch)) for _ in range(2000))
