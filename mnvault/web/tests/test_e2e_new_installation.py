"""Issue 3's whole flow in a real browser, from a new installation: the first admin signs in,
enrols a phone and creates a company with its responsible manager; the manager signs in,
designates a handler and adds a person; the handler enters the person's number in person,
finds the person, reveals the number for a purpose and sees it hide again; a staff user
sees no number anywhere and has no way to reveal one."""

from __future__ import annotations

import re

import pytest

from mnvault.accounts.models import SealedTOTPDevice, User
from mnvault.conftest import ALL_DATABASES
from mnvault.web.tests.test_signin import totp_now

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)]
FIRST = "first password 4 admin"
MASK = "●●●● ●●●● ●●●●"


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button.primary")


def enrol(page, username: str) -> None:
    page.wait_for_url("**/account/two-factor")
    device = SealedTOTPDevice.objects.get(user__username=username, confirmed=False)
    page.fill("#id_code", totp_now(device))
    page.click("button.primary")
    page.wait_for_url("**/account/recovery-codes")
    with page.expect_navigation():
        page.click("a.button.primary")


def choose_password(page, old: str, new: str) -> None:
    page.wait_for_url("**/account/password")
    page.fill("#id_old_password", old)
    page.fill("#id_new_password1", new)
    page.fill("#id_new_password2", new)
    page.click("button.primary")
    page.wait_for_selector("#login-history")


def sign_out(page) -> None:
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login")


def test_from_a_new_installation_to_a_reveal(page, make_number, settings):
    settings.MNVAULT_REVEAL_SECONDS = 2
    admin = User.objects.create_user(username="admin", password=FIRST)
    admin.is_installation_admin, admin.must_change_password = True, True
    admin.save()

    sign_in(page, "admin", FIRST)
    enrol(page, "admin")
    choose_password(page, FIRST, "admin's own password 7")
    page.click("a[href='/companies/new']")
    page.fill("#id_name", "テスト商事株式会社")
    page.check("input[name=purposes][value=withholding]")
    page.fill("#id_manager_username", "sekinin")
    page.fill("#id_manager_full_name", "責任 一郎")
    page.fill("#id_manager_password", "manager first pass 8")
    page.click("button.primary")
    page.wait_for_selector("#login-history")
    sign_out(page)

    sign_in(page, "sekinin", "manager first pass 8")
    enrol(page, "sekinin")
    choose_password(page, "manager first pass 8", "manager own password 9")
    page.click("table a")  # the company
    company_url = page.url
    page.goto(f"{company_url}users/")
    page.fill("#id_new-username", "tantou")
    page.fill("#id_new-full_name", "担当 二郎")
    page.fill("#id_new-password", "handler first pass 10")
    page.click("form[action$='/users/new'] button.primary")
    page.fill("#id_grant-username", "tantou")
    page.select_option("#id_grant-role", "handler")
    page.click("form[action$='/users/grant'] button.primary")
    assert page.locator("table").first.inner_text().count("tantou") >= 1
    page.goto(f"{company_url}people/new")
    page.select_option("#id_kind", "employee")
    page.fill("#id_family_name", "山田")
    page.fill("#id_given_name", "花子")
    page.fill("#id_family_name_kana", "ヤマダ")
    page.fill("#id_given_name_kana", "ハナコ")
    page.click("button.primary")
    page.wait_for_selector("#number")
    sign_out(page)

    number = make_number()
    sign_in(page, "tantou", "handler first pass 10")
    enrol(page, "tantou")
    choose_password(page, "handler first pass 10", "handler own password 11")
    page.goto(f"{company_url}people/")
    page.fill("#q", "ハナコ")
    page.click("form[role=search] button.primary")
    page.click("#people a")
    page.click("a[href$='/number']")
    page.fill("#id_number", f"{number[:4]} {number[4:8]} {number[8:]}")
    page.check("input[name=document_kinds][value=my_number_card]")
    page.check("input[name=purposes][value=withholding]")
    page.click("button.primary")
    page.wait_for_selector("#number")
    assert page.inner_text("#number") == MASK
    page.select_option("#purpose", "withholding")
    page.click("form[action$='/reveal'] button.primary")
    assert page.inner_text("#number") == f"{number[:4]} {number[4:8]} {number[8:]}"
    page.wait_for_url(re.compile(r".*/people/\d+/$"), timeout=10_000)
    assert page.inner_text("#number") == MASK
    sign_out(page)

    staff = User.objects.create_user(username="jinji", password="staff password 12")
    from mnvault.accounts.models import Membership

    Membership.objects.create(
        user=staff, company_id=int(company_url.rstrip("/").split("/")[-1]), role="staff"
    )
    sign_in(page, "jinji", "staff password 12")
    page.wait_for_selector("#login-history")
    for path in ("", "people/"):
        page.goto(f"{company_url}{path}")
        assert number not in page.content()
    page.click("#people a")
    assert page.inner_text("#number") == MASK
    assert page.locator("form[action$='/reveal']").count() == 0
    assert number not in page.content()
