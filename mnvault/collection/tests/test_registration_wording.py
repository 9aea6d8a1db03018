"""What a person reads while registering: a payee sees payee wording only (no dependents, no
dependents step), in Japanese by default and in English."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from mnvault.collection.models import IdentityDocument, Submission
from mnvault.collection.tests.conftest import Walker, invite_by_email, jpeg, upload
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def payee_walker(personas, payee) -> Walker:
    personas.company.purposes.create(purpose="fee_payment_records")
    _, token = invite_by_email(personas.staff, payee)
    walker = Walker(token, birth_date=payee.birth_date)
    walker.verify()
    return walker


def english(walker: Walker) -> Walker:
    walker.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return walker


def test_a_payees_notice_names_no_dependents_and_no_dependents_step(payee_walker):
    page = payee_walker.get("/register/purposes").content.decode()
    assert "あなたの個人番号を次の目的のためだけに取得し" in page
    assert "扶養親族" not in page
    assert "報酬" in page


def test_a_payees_notice_in_english_names_no_dependents(payee_walker):
    page = english(payee_walker).get("/register/purposes").content.decode()
    assert "collects your individual number only for these purposes" in page
    assert "dependent" not in page.lower()


def test_a_payee_sees_no_dependents_step_on_any_page(payee_walker, make_number):
    payee_walker.post("/register/purposes", {"acknowledged": "on"})
    payee_walker.post("/register/number", {"number": make_number()})
    payee_walker.upload("my_number_card", jpeg())
    for url in ("/register/number", "/register/documents", "/register/confirm"):
        page = payee_walker.get(url).content.decode()
        assert "本人確認" in page and "扶養親族" not in page, url


def test_an_employee_still_reads_of_dependents_and_their_step(walker):
    walker.verify()
    page = walker.get("/register/purposes").content.decode()
    assert "（申告する場合は扶養親族の個人番号も）" in page
    assert "<li>扶養親族</li>" in page
    english_page = english(walker).get("/register/purposes").content.decode()
    assert "your dependents' numbers" in english_page
    assert "<li>Dependents</li>" in english_page


def test_the_two_sides_of_the_card_are_labelled_front_and_back(walker, make_number):
    walker.enter_number(make_number())
    walker.post("/register/documents", {"combination": "card"})
    page = walker.get("/register/documents").content.decode()
    assert "マイナンバーカードの面" in page
    assert 'value="front" id="id_side_0" checked' in page  # the side still missing
    walker.post(
        "/register/documents",
        {"kind": "my_number_card", "side": "back", "file": upload("b.jpg", jpeg())},
    )
    walker.post(
        "/register/documents",
        {"kind": "my_number_card", "side": "front", "file": upload("f.jpg", jpeg((20, 20)))},
    )
    listed = walker.get("/register/documents").content.decode()
    assert "マイナンバーカード（裏面）" in listed and "マイナンバーカード（表面）" in listed
    assert "documents-next" in listed
    confirm = walker.get("/register/confirm").content.decode()
    assert "マイナンバーカード（裏面）, マイナンバーカード（表面）" in confirm
    english_page = english(walker).get("/register/confirm").content.decode()
    assert "My Number card (back), My Number card (front)" in english_page


def test_a_side_left_unchosen_is_the_one_still_missing(walker, make_number):
    walker.enter_number(make_number())
    walker.upload("my_number_card", jpeg())
    page = walker.get("/register/documents").content.decode()
    assert 'value="back" id="id_side_1" checked' in page
    walker.upload("my_number_card", jpeg(color=(1, 2, 3)))
    assert [d.side for d in IdentityDocument.objects.order_by("pk")] == ["front", "back"]


def test_two_photos_of_the_same_side_are_not_both_sides(walker, make_number):
    walker.enter_number(make_number())
    walker.post("/register/documents", {"combination": "card"})
    for color in ((1, 2, 3), (4, 5, 6)):
        walker.post(
            "/register/documents",
            {"kind": "my_number_card", "side": "front", "file": upload("f.jpg", jpeg(color=color))},
        )
    page = walker.get("/register/documents").content.decode()
    assert "documents-next" not in page and "両面" in page
    assert walker.confirm(attested=False).status_code == 400


def test_the_review_page_labels_each_side(signed_in, personas, walker, invited, make_number):
    walker.register(make_number())
    submission = Submission.objects.get(invitation=invited[0])
    page = (
        signed_in(personas.handler)
        .get(reverse("web:review", args=[personas.company.pk, submission.pk]))
        .content.decode()
    )
    assert "<figcaption>マイナンバーカード（表面）</figcaption>" in page
    assert "<figcaption>マイナンバーカード（裏面）</figcaption>" in page


def test_the_review_pages_confirmation_box_sits_before_its_label(
    signed_in, personas, walker, invited, make_number
):
    walker.register(make_number())
    submission = Submission.objects.get(invitation=invited[0])
    page = (
        signed_in(personas.handler)
        .get(reverse("web:review", args=[personas.company.pk, submission.pk]))
        .content.decode()
    )
    box = page.index('id="id_confirmed"')
    label = page.index('<label for="id_confirmed">')
    assert box < label and '<div class="field check">' in page


def test_the_purposes_notice_checkbox_sits_before_its_label(walker):
    walker.verify()
    page = walker.get("/register/purposes").content.decode()
    assert page.index('id="id_acknowledged"') < page.index('<label for="id_acknowledged">')
