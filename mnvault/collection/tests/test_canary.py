"""The canary check extended to collection: with numbers entered through invitations (one
awaiting review, one approved, one sent back), no public page, no e-mail, no audit entry and
no staff page holds any of them — except the review page, an authorised reveal to handlers
and responsible managers."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from mnvault.audit.models import AuditEntry
from mnvault.collection.models import Submission, SubmissionStatus
from mnvault.collection.tests.conftest import Walker, invite_by_email
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.web.tests.test_canary_crawl import PERSONAS, assert_no_canary, crawl, forms_of

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
REVIEW_PAGE = re.compile(r"^/c/\d+/collection/review/\d+/$")
REVIEWERS = {"handler", "responsible_manager"}


def registered(personas, number: str, dependent: str, code: str) -> Walker:
    born = personas.company.created_at.date()
    person = make_person(personas.company, birth_date=born, email=f"{code}@x.test")
    person.employee_code = code
    person.save()
    _, token = invite_by_email(personas.staff, person)
    walker = Walker(token, birth_date=born)
    walker.register(number, dependents=[dependent])
    walker.get("/register/done")
    return walker


@pytest.fixture
def entered(personas, make_number, signed_in) -> tuple[list[str], list[Walker]]:
    """Six numbers entered through three invitations: one submission stays to review, one is
    approved, one is sent back (with a new invitation by e-mail)."""
    numbers = [make_number() for _ in range(6)]
    walkers = [registered(personas, numbers[2 * i], numbers[2 * i + 1], f"K{i}") for i in range(3)]
    handler = signed_in(personas.handler)
    pending, approved, sent_back = Submission.objects.order_by("pk")
    base = f"/c/{personas.company.pk}/collection/review"
    handler.post(
        f"{base}/{approved.pk}/approve", {"document_kinds": ["my_number_card"], "confirmed": "on"}
    )
    handler.post(f"{base}/{sent_back.pk}/send-back", {"reason": "写真が不鮮明です"})
    assert Submission.objects.get(pk=pending.pk).status == SubmissionStatus.SUBMITTED
    assert Submission.objects.get(pk=approved.pk).status == SubmissionStatus.APPROVED
    return numbers, walkers


def test_no_public_page_holds_a_number(entered):
    numbers, walkers = entered
    seen = {
        f"{n}:{i}:{r.request['PATH_INFO']}": r
        for n, w in enumerate(walkers)
        for i, r in enumerate(w.responses)
    }
    assert len(seen) > 30
    assert_no_canary(seen, numbers)


def test_no_email_holds_a_number(entered):
    numbers, _ = entered
    assert len(mail.outbox) >= 4  # three invitations and the one after the send-back
    for message in mail.outbox:
        text = str(message.subject) + str(message.body)
        for number in numbers:
            for form in forms_of(number):
                assert form not in text


def test_no_audit_entry_holds_a_number(entered):
    numbers, _ = entered
    entries = list(AuditEntry.objects.values_list("detail", "reason", "actor_label"))
    assert entries
    for number in numbers:
        assert number not in str(entries)


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_the_review_page_shows_numbers_and_only_to_reviewers(
    signed_in, personas, entered, persona
):
    numbers, _ = entered
    seen = crawl(signed_in(getattr(personas, persona)))
    reviews = {url: r for url, r in seen.items() if REVIEW_PAGE.match(url)}
    assert_no_canary({u: r for u, r in seen.items() if u not in reviews}, numbers)
    if persona in REVIEWERS:
        assert len(reviews) == 1  # the submission awaiting review: its numbers, grouped
        page = next(iter(reviews.values())).content.decode()
        assert f"{numbers[0][:4]} {numbers[0][4:8]} {numbers[0][8:]}" in page
    else:
        assert not reviews
