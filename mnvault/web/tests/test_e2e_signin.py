"""Sign-in in a real browser: the first admin enrols a phone, signs out and back in with a code;
a staff user signs in with a password alone; a wrong code is refused with its message."""

from __future__ import annotations

import pytest

from mnvault.accounts.models import SealedTOTPDevice
from mnvault.conftest import ALL_DATABASES
from mnvault.web.tests.test_signin import PASSWORD, totp_now

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)]


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()


def test_first_admin_enrols_then_signs_in_with_a_code(page, personas):
    sign_in(page, "installation_admin")
    page.wait_for_url("**/account/two-factor")
    assert page.locator("img.qr").is_visible()
    device = SealedTOTPDevice.objects.get(user=personas.installation_admin, confirmed=False)
    page.get_by_label("認証アプリのコード").fill(totp_now(device))
    page.get_by_role("button", name="確認").click()
    page.wait_for_url("**/account/recovery-codes")
    assert page.locator("#recovery-codes li").count() == 10
    page.get_by_role("link", name="保管しました").click()
    page.wait_for_selector("#login-history")
    assert page.get_by_role("heading", name="会社").is_visible()

    page.get_by_role("button", name="サインアウト").click()
    page.wait_for_url("**/login")
    sign_in(page, "installation_admin")
    page.wait_for_url("**/login/code")
    page.get_by_label("認証アプリのコード").fill("000000")
    page.get_by_role("button", name="続ける").click()
    assert page.get_by_role("alert").inner_text() == "コードが違います。"
    device.refresh_from_db()
    device.throttling_failure_count, device.throttling_failure_timestamp = 0, None
    device.save()
    page.get_by_label("認証アプリのコード").fill(totp_now(device, steps_ahead=1))
    page.get_by_role("button", name="続ける").click()
    page.wait_for_selector("#login-history")
    history = page.locator("#login-history tbody tr").all_inner_texts()
    assert "二要素コード確認" in history[0]


def test_staff_signs_in_and_can_switch_to_english(page, personas):
    sign_in(page, "staff")
    page.wait_for_selector("#login-history")
    page.get_by_role("button", name="English").click()
    page.wait_for_selector("text=Recent sign-ins")
    assert page.locator("html").get_attribute("lang") == "en"
