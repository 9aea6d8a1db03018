"""The pages on a phone-sized screen (390 × 844) in headless Chromium: what a person sees on
the registration pages and on the staff pages (issue 10, items 13 and 15)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mnvault.collection.tests.conftest import BIRTH_DATE, invite_by_email
from mnvault.conftest import ALL_DATABASES, make_person

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "ja-JP",
}


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(base_url=live_server.url, **PHONE)
    yield context.new_page()
    context.close()


def wrong_check_digit(number: str) -> str:
    return number[:11] + str((int(number[11]) + 1) % 10)


def test_a_corrected_number_leaves_no_server_error_beside_the_match(phone, personas, make_number):
    invitee = make_person(personas.company, birth_date=BIRTH_DATE, email="taro@example.test")
    _, token = invite_by_email(personas.staff, invitee)
    phone.goto(f"/r/{token}")
    phone.get_by_label("生年月日").fill(BIRTH_DATE.isoformat())
    phone.get_by_role("button", name="次へ").click()
    phone.get_by_label("上記の利用目的を確認しました。").check()
    phone.get_by_role("button", name="次へ").click()

    # Sent with a wrong check digit: the server refuses it, beside the field.
    number = make_number()
    field = phone.get_by_label("あなたの個人番号")
    field.fill(wrong_check_digit(number))
    phone.get_by_role("button", name="次へ").click()
    server_error = phone.locator("#id_number_error")
    expect(server_error).to_contain_text("一致しません")
    # Corrected: the match is shown, and the server's error on the old number is gone.
    phone.wait_for_load_state()  # the check-digit script is in place
    field.press_sequentially(number)
    expect(phone.locator("#number_check")).to_have_text("チェックデジットは一致しています。")
    expect(server_error).to_have_count(0)
    expect(phone.locator("main .error")).to_have_count(0)
    assert field.get_attribute("aria-invalid") == "false"
