"""An axe-core check of the main staff pages and the registration pages in a real Chromium:
no serious or critical violation (issue 10). axe-core ships inside axe-playwright-python."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from mnvault.conftest import ALL_DATABASES
from mnvault.web.tests.test_e2e_signin import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)]
SERIOUS = {"serious", "critical"}


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} element(s)"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


def test_the_main_staff_pages_have_no_serious_accessibility_violation(
    browser, live_server, personas, employee, stored, make_number
):
    """Every section's pages, by a user holding every role (so every part of each page shows),
    a submission waiting for review included."""
    from mnvault.accounts.models import Membership, Role, User
    from mnvault.collection.models import Submission
    from mnvault.collection.tests.conftest import BIRTH_DATE, Walker, invite_by_email
    from mnvault.conftest import make_person
    from mnvault.web.tests.fixtures import verified_client

    user = User.objects.create_user(username="everyone", password="correct horse battery 42")
    for role in Role.values:
        Membership.objects.create(user=user, company=personas.company, role=role)
    invitee = make_person(personas.company, birth_date=BIRTH_DATE, email="taro@example.test")
    walker = Walker(invite_by_email(personas.staff, invitee)[1])
    walker.register(make_number())
    submission = Submission.objects.get(person=invitee)
    dependent = make_person(
        personas.company, kind="dependent", employee=employee, relationship="child"
    )
    client = verified_client(user)
    context = browser.new_context(base_url=live_server.url, locale="ja-JP")
    cookie = client.cookies["sessionid"].value
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
    page = context.new_page()
    # The review's photos stay unloaded (their alt text is what is checked): SQLite in memory
    # locks whole tables, and two photo requests at once can collide in this test server.
    page.route("**/collection/documents/**", lambda route: route.abort())
    company = personas.company.pk
    found = {}
    for path in [
        "/",
        f"/c/{company}/",
        f"/c/{company}/people/",
        f"/c/{company}/people/new",
        f"/c/{company}/people/{employee.pk}/",
        f"/c/{company}/people/{employee.pk}/edit",
        f"/c/{company}/people/{dependent.pk}/",
        f"/c/{company}/collection/",
        f"/c/{company}/collection/settings",
        f"/c/{company}/collection/review/",
        f"/c/{company}/collection/review/{submission.pk}/",
        f"/c/{company}/users/",
        f"/c/{company}/audit/",
        f"/c/{company}/ledger/",
        f"/c/{company}/settings/",
        "/account/password",
        f"/c/{company}/documents/",
        f"/c/{company}/documents/new",
    ]:
        response = page.goto(path)
        assert response is not None and response.ok, path
        found[path] = serious_violations(page)
    context.close()
    assert {path: v for path, v in found.items() if v} == {}


def test_the_sign_in_and_admin_pages_have_no_serious_accessibility_violation(page, personas):
    found = {}
    page.goto("/login")
    found["/login"] = serious_violations(page)
    sign_in(page, "installation_admin")
    page.wait_for_url("**/account/two-factor")
    found["/account/two-factor"] = serious_violations(page)
    assert {path: v for path, v in found.items() if v} == {}


def test_the_check_finds_a_serious_violation(page):
    """The check can fail: an image without a text alternative is a critical violation."""
    page.set_content('<html lang="ja"><body><main><img src="x.png"></main></body></html>')
    assert any(v.startswith("image-alt") for v in serious_violations(page))


def test_every_registration_page_has_no_serious_accessibility_violation(
    page, personas, make_number
):
    """Every step a person goes through, as they see it: the identity checks (birth date, the
    e-mail code), the purposes, the number with the server's error beside it, the documents
    before and after an upload, the dependents with one added, the confirmation, the receipt."""
    from playwright.sync_api import expect

    from mnvault.collection.models import CollectionSettings
    from mnvault.collection.tests.conftest import BIRTH_DATE, invite_by_email, jpeg
    from mnvault.conftest import make_person

    CollectionSettings.objects.create(company=personas.company, email_code_required=True)
    invitee = make_person(personas.company, email="taro@example.test", birth_date=BIRTH_DATE)
    _invitation, token = invite_by_email(personas.staff, invitee)
    found: dict[str, list[str]] = {}

    def check(step: str) -> None:
        page.wait_for_load_state()
        found[step] = serious_violations(page)

    response = page.goto(f"/r/{token}")
    assert response is not None and response.ok
    page.wait_for_url("**/register/**")  # the link is swapped for a session at once
    check("birth date")
    page.get_by_label("生年月日").fill("1901-01-01")
    page.get_by_role("button", name="次へ").click()
    check("birth date, wrong")
    page.get_by_label("生年月日").fill(BIRTH_DATE.isoformat())
    page.get_by_role("button", name="次へ").click()
    page.wait_for_url("**/register/code")
    check("e-mail code")
    page.get_by_role("button", name="メールでコードを受け取る").click()
    check("e-mail code, sent")
    code = re.search(r"\b(\d{6})\b", str(mail.outbox[-1].body))
    assert code is not None
    page.get_by_role("textbox").fill(code.group(1))
    page.get_by_role("button", name="次へ").click()
    page.wait_for_url("**/register/purposes")
    check("purposes")
    page.get_by_label("上記の利用目的を確認しました。").check()
    page.get_by_role("button", name="次へ").click()
    check("number")
    number = make_number()
    page.get_by_label("あなたの個人番号").fill(number[:11] + str((int(number[11]) + 1) % 10))
    page.get_by_role("button", name="次へ").click()
    expect(page.locator("#id_number_error")).to_be_visible()
    check("number, refused")
    page.get_by_label("あなたの個人番号").fill(number)
    page.get_by_role("button", name="次へ").click()
    page.wait_for_url("**/register/documents")
    check("documents")
    page.get_by_label("マイナンバーカード（表・裏）").check()
    page.get_by_role("button", name="選ぶ").click()
    check("documents, chosen")
    for side, color in (("front.jpg", (200, 180, 160)), ("back.jpg", (30, 60, 90))):
        page.get_by_label("写真またはPDF").set_input_files(
            {"name": side, "mimeType": "image/jpeg", "buffer": jpeg(color=color)}
        )
        page.get_by_role("button", name="アップロード").click()
    check("documents, uploaded")
    page.locator("#documents-next").click()
    page.wait_for_url("**/register/dependents")
    check("dependents")
    page.get_by_role("button", name="追加", exact=True).click()
    check("dependents, refused")
    page.get_by_label("姓", exact=True).fill("山田")
    page.get_by_label("名", exact=True).fill("花子")
    page.get_by_label("セイ").fill("ヤマダ")
    page.get_by_label("メイ").fill("ハナコ")
    page.get_by_label("続柄").select_option("child")
    page.get_by_label("生年月日").fill("2015-05-05")
    page.get_by_label("扶養親族の個人番号").fill(make_number())
    page.get_by_role("button", name="追加", exact=True).click()
    expect(page.locator("#dependents")).to_contain_text("山田 花子")
    check("dependents, one added")
    page.locator("#dependents-next").click()
    page.wait_for_url("**/register/confirm")
    check("confirm")
    page.get_by_role("button", name="送信").click()
    check("confirm, refused")
    page.get_by_label(re.compile("扶養親族それぞれの本人確認")).check()
    page.get_by_role("button", name="送信").click()
    page.wait_for_url("**/register/done")
    check("receipt")
    assert len(found) == 16
    assert {step: v for step, v in found.items() if v} == {}


def test_the_pages_to_change_dependents_on_record_have_no_serious_accessibility_violation(
    page, personas, employee, stored
):
    """An invitation for dependents: the list on record, the change form, the confirmation."""
    from datetime import date

    from playwright.sync_api import expect

    from mnvault.collection import invitations
    from mnvault.collection.tests.conftest import token_from_mail
    from mnvault.conftest import make_person

    employee.birth_date, employee.email = date(1980, 1, 2), "taro@example.test"
    employee.save()
    make_person(
        personas.company,
        kind="dependent",
        employee=employee,
        relationship="child",
        given_name="花子",
        birth_date=date(2015, 5, 5),
    )
    invitations.invite_for_dependents(acting_user=personas.staff, person=employee, delivery="email")
    page.goto(f"/r/{token_from_mail(mail.outbox[-1])}")
    page.get_by_label("生年月日").fill("1980-01-02")
    page.get_by_role("button", name="次へ").click()
    page.get_by_label("上記の利用目的を確認しました。").check()
    page.get_by_role("button", name="次へ").click()
    page.wait_for_url("**/register/dependents")
    found = {"dependents on record": serious_violations(page)}
    page.get_by_role("link", name=re.compile("変更")).first.click()
    expect(page.locator("#change-heading")).to_be_visible()
    found["change form"] = serious_violations(page)
    page.locator("#id_change-given_name").fill("華子")
    page.get_by_role("button", name="この変更を申し出る").click()
    expect(page.locator("#changes")).to_contain_text("華子")
    found["change asked"] = serious_violations(page)
    page.locator("#dependents-next").click()
    page.wait_for_url("**/register/confirm")
    found["confirm"] = serious_violations(page)
    page.get_by_role("button", name="送信").click()
    page.wait_for_url("**/register/done")
    assert {step: v for step, v in found.items() if v} == {}
