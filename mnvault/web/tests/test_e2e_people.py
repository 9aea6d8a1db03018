"""In a real browser: a handler finds a person, reveals the number for a purpose and sees it
hidden again; a staff user sees no number and no way to reveal one."""

from __future__ import annotations

import re

import pytest

from mnvault.conftest import ALL_DATABASES
from mnvault.web.tests.test_e2e_signin import sign_in
from mnvault.web.tests.test_signin import enrolled_device_code

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)]


def test_handler_reveals_and_the_number_hides_again(page, personas, employee, stored, settings):
    settings.MNVAULT_REVEAL_SECONDS = 2
    sign_in(page, "handler")
    page.wait_for_url("**/account/two-factor")
    page.get_by_label("認証アプリのコード").fill(enrolled_device_code(personas.handler))
    page.get_by_role("button", name="確認").click()
    page.goto(f"/c/{personas.company.pk}/people/")
    page.get_by_label("氏名・カナ・社員番号").fill("ヤマダ")
    page.get_by_role("button", name="検索").click()
    page.get_by_role("link", name="山田 太郎").click()
    assert page.locator("#number").inner_text() == "●●●● ●●●● ●●●●"
    page.get_by_label("利用目的").select_option("withholding")
    page.get_by_role("button", name="30秒間表示").click()
    grouped = f"{stored[:4]} {stored[4:8]} {stored[8:]}"
    assert page.locator("#number").inner_text() == grouped
    page.wait_for_url(re.compile(r".*/people/\d+/$"), timeout=10_000)
    assert page.locator("#number").inner_text() == "●●●● ●●●● ●●●●"
    assert stored not in page.content()


def test_staff_sees_no_number_and_no_reveal(page, personas, employee, stored):
    sign_in(page, "staff")
    page.wait_for_selector("#login-history")
    page.goto(f"/c/{personas.company.pk}/people/{employee.pk}/")
    assert page.locator("#number").inner_text() == "●●●● ●●●● ●●●●"
    assert page.get_by_role("button", name="30秒間表示").count() == 0
    assert stored not in page.content()
