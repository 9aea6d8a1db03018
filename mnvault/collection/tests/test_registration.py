"""Self-registration through an invitation: the happy path of an employee and a payee, and
every refusal with its message, nothing stored and its audit entry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mnvault.audit.models import AuditEntry
from mnvault.collection.models import (
    IdentityDocument,
    Invitation,
    Submission,
    SubmissionStatus,
    SubmittedDependent,
)
from mnvault.collection.tests.conftest import Walker, invite_by_email, jpeg, upload
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def refusals(action: str, reason: str | None = None):
    entries = AuditEntry.objects.filter(action=action, outcome="refused")
    return entries.filter(reason=reason) if reason else entries


def test_it_exchanges_the_token_for_a_session_and_moves_on_without_it(walker):
    response = walker.open()
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    assert 'content="0;url=/register/"' in response.content.decode()
    assert walker.token not in response.content.decode()
    assert walker.get("/register/").status_code == 200


def test_it_stores_nothing_in_clear_and_only_a_hash_of_the_token(invited):
    invitation, token = invited
    assert Invitation.objects.filter(token_hash=invitation.token_hash).exists()
    assert token not in invitation.token_hash
    assert not Invitation.objects.filter(token_hash=token).exists()


def test_employee_registers_number_documents_and_a_dependent(walker, invited, make_number):
    response = walker.register(make_number(), dependents=[make_number()])
    assert response.status_code == 302 and response["Location"] == "/register/done"
    receipt = walker.get("/register/done")
    assert receipt.status_code == 200
    submission = Submission.objects.get(invitation=invited[0])
    assert submission.status == SubmissionStatus.SUBMITTED
    assert submission.dependents_attested_at and submission.notice_acknowledged_at
    assert submission.documents.count() == 2
    assert SubmittedDependent.objects.filter(submission=submission).count() == 1
    assert Invitation.objects.get(pk=invited[0].pk).used_at is not None
    assert AuditEntry.objects.filter(action="collection.submit", outcome="ok").count() == 1


def test_receipt_and_every_page_hold_no_number(walker, make_number):
    number, dependent = make_number(), make_number()
    walker.register(number, dependents=[dependent])
    walker.get("/register/done")
    for response in walker.responses:
        text = response.content.decode() + str(dict(response.items()))
        for n in (number, dependent, f"{number[:4]} {number[4:8]} {number[8:]}"):
            assert n not in text


def test_wrong_birth_date_is_refused_and_audited(walker):
    walker.open()
    response = walker.post("/register/", {"birth_date": "1991-01-01"})
    assert response.status_code == 400
    assert "一致しません" in response.content.decode()
    assert refusals("collection.identity_check", "wrong_birth_date").count() == 1
    assert walker.get("/register/number").status_code == 302  # still not verified


def test_five_wrong_birth_dates_withdraw_the_invitation(walker, invited):
    walker.open()
    for _ in range(5):
        response = walker.post("/register/", {"birth_date": "1991-01-01"})
    assert response.status_code == 410
    invitation = Invitation.objects.get(pk=invited[0].pk)
    assert invitation.revoked_at and invitation.revoked_reason == "too_many_attempts"
    assert Walker(walker.token).open().status_code == 410


def test_steps_cannot_be_skipped(walker):
    walker.open()
    assert walker.get("/register/number")["Location"] == "/register/"
    walker.post("/register/", {"birth_date": "1990-04-01"})
    assert walker.get("/register/number")["Location"] == "/register/purposes"
    assert walker.post("/register/confirm", {})["Location"] == "/register/purposes"


def test_notice_lists_the_purposes_of_the_invitation(walker):
    walker.verify()
    page = walker.get("/register/purposes").content.decode()
    assert "源泉徴収票" in page and "健康保険" in page
    assert "報酬" not in page  # a payment purpose is not an employee's


def test_bad_check_digit_is_refused_with_message_nothing_stored_and_audited(walker, make_number):
    good = make_number()
    bad = good[:11] + str((int(good[11]) + 1) % 10)
    response = walker.enter_number(bad)
    assert response.status_code == 400
    page = response.content.decode()
    assert "チェックデジット（検査用数字）が一致しません" in page.split("id_number_error")[1]
    assert bad not in page
    assert not Submission.objects.exclude(number_ciphertext=None).exists()
    assert refusals("collection.number_entered", "number").count() == 1


@pytest.mark.parametrize("raw", ["１２３４", "abc", "1234 5678 901"])
def test_malformed_numbers_are_refused(walker, raw):
    assert walker.enter_number(raw).status_code == 400
    assert not Submission.objects.exclude(number_ciphertext=None).exists()


def test_full_width_digits_and_hyphens_are_accepted(walker, make_number):
    number = make_number()
    typed = f"{number[:4]}-{number[4:8]}-{number[8:]}".translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    )
    assert walker.enter_number(typed)["Location"] == "/register/documents"


def test_file_that_is_not_an_image_is_refused(walker, make_number):
    walker.enter_number(make_number())
    response = walker.upload("my_number_card", b"MZ\x90\x00 not a photo", "card.jpg")
    assert response.status_code == 400
    assert "PDF" in response.content.decode()
    assert IdentityDocument.objects.count() == 0
    assert refusals("collection.document_added").count() == 1


def test_too_large_file_is_refused(walker, make_number, settings):
    settings.MNVAULT_MAX_DOCUMENT_MB = 1
    walker.enter_number(make_number())
    big = jpeg() + b"\x00" * (2 * 1024 * 1024)
    response = walker.upload("my_number_card", big, "big.jpg")
    assert response.status_code == 400
    assert "1 MB" in response.content.decode()
    assert IdentityDocument.objects.count() == 0
    assert refusals("collection.document_added", "too_large").count() == 1


def test_photo_is_stored_encrypted_without_its_metadata(walker, make_number):
    walker.enter_number(make_number())
    photo = jpeg()
    walker.upload("my_number_card", photo)
    document = IdentityDocument.objects.get()
    assert document.content_type == "image/jpeg"
    assert photo[100:140] not in bytes(document.ciphertext)


def test_submission_needs_the_documents_of_a_combination(walker, make_number):
    walker.enter_number(make_number())
    walker.upload("drivers_license", jpeg(), combination="notification_card")
    response = walker.confirm(attested=False)
    assert response.status_code == 400
    assert Submission.objects.get().status == SubmissionStatus.DRAFT
    assert Invitation.objects.get().used_at is None


def test_dependents_need_the_employees_attestation(walker, make_number):
    walker.enter_number(make_number())
    walker.upload("my_number_card", jpeg())
    walker.upload("my_number_card", jpeg())
    walker.add_dependent(make_number())
    response = walker.confirm(attested=False)
    assert response.status_code == 400
    assert Submission.objects.get().status == SubmissionStatus.DRAFT


def test_dependent_with_bad_number_is_refused_and_audited(walker, make_number):
    walker.enter_number(make_number())
    response = walker.add_dependent("123456789012")
    assert response.status_code == 400
    assert SubmittedDependent.objects.count() == 0
    assert refusals("collection.dependent_added", "number").count() == 1


def test_payee_registers_with_the_payment_purposes_and_no_dependents(personas, payee, make_number):
    personas.company.purposes.create(purpose="fee_payment_records")
    _, token = invite_by_email(personas.staff, payee)
    walker = Walker(token, birth_date=payee.birth_date)
    walker.verify()
    assert "報酬" in walker.get("/register/purposes").content.decode()
    walker.post("/register/purposes", {"acknowledged": "on"})
    walker.post("/register/number", {"number": make_number()})
    walker.upload("my_number_card", jpeg())
    walker.upload("my_number_card", jpeg())
    assert walker.get("/register/dependents")["Location"] == "/register/confirm"
    assert walker.confirm(attested=False)["Location"] == "/register/done"
    assert Submission.objects.get(person=payee).purposes == ["fee_payment_records"]


def test_used_link_says_so(walker, make_number):
    walker.register(make_number())
    response = Walker(walker.token).open()
    assert response.status_code == 410
    assert 'data-state="used"' in response.content.decode()
    assert refusals("collection.link_opened", "link_used").count() == 1


def test_expired_link_says_so(invited):
    invitation, token = invited
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    response = Walker(token).open()
    assert response.status_code == 410
    assert 'data-state="expired"' in response.content.decode()
    assert refusals("collection.link_opened", "link_expired").count() == 1


def test_withdrawn_link_says_so_even_in_the_middle_of_registering(walker, invited, personas):
    from mnvault.collection.invitations import revoke

    walker.verify()
    revoke(acting_user=personas.staff, invitation=invited[0])
    response = walker.get("/register/purposes")
    assert response.status_code == 410
    assert 'data-state="revoked"' in response.content.decode()
    assert Walker(walker.token).open().status_code == 410


def test_unknown_link_reveals_nothing(db):
    response = Walker("x" * 43).open()
    assert response.status_code == 404
    assert 'data-state="unknown"' in response.content.decode()


def test_too_many_unknown_links_from_one_address_are_limited(db):
    from django.core.cache import cache

    cache.clear()
    statuses = [Walker(f"{i:043d}".replace("0", "x")).open().status_code for i in range(12)]
    assert statuses[:10] == [404] * 10
    assert statuses[-1] == 429


def test_an_expired_draft_is_discarded_by_the_scheduler(
    walker, invited, make_number, django_capture_on_commit_callbacks
):
    from mnvault.collection.reminders import send_due_reminders
    from mnvault.vault.models import DataKey

    walker.enter_number(make_number())
    walker.upload("my_number_card", jpeg())
    submission = Submission.objects.get()
    assert DataKey.objects.filter(ref=submission.document_key_ref).exists()
    later = timezone.now() + timedelta(days=15)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due_reminders(now=later)["drafts_discarded"] == 1
    submission.refresh_from_db()
    assert submission.number_ciphertext is None
    assert not IdentityDocument.objects.exists()
    assert not DataKey.objects.filter(ref=submission.document_key_ref).exists()


def test_upload_of_a_pdf_is_accepted(walker, make_number):
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    walker.enter_number(make_number())
    walker.post("/register/documents", {"combination": "card"})
    response = walker.post(
        "/register/documents",
        {"kind": "my_number_card", "file": upload("card.pdf", out.getvalue(), "application/pdf")},
    )
    assert response.status_code == 302
    assert IdentityDocument.objects.get().content_type == "application/pdf"


def test_the_my_number_card_needs_both_sides(walker, make_number):
    walker.enter_number(make_number())
    walker.upload("my_number_card", jpeg())
    page = walker.get("/register/documents").content.decode()
    assert "documents-next" not in page
    assert "両面" in page
    assert walker.confirm(attested=False).status_code == 400
    walker.upload("my_number_card", jpeg(color=(1, 2, 3)))
    assert "documents-next" in walker.get("/register/documents").content.decode()
