"""The whole collection flow in headless Chromium: HR staff invites an employee by e-mail
(delivered to a real SMTP server started here), the employee registers on a phone-sized
screen — number, a dependent, photos of the card — and a handler approves; the person page
then shows the number masked, and the handler can reveal it."""

from __future__ import annotations

import re
import socket
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from mnvault.collection.tests.conftest import BIRTH_DATE, LINK, jpeg
from mnvault.conftest import ALL_DATABASES
from mnvault.web.tests.test_e2e_signin import sign_in
from mnvault.web.tests.test_signin import enrolled_device_code

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "ja-JP",
}


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def wait(self, count: int, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, "no e-mail arrived"
            time.sleep(0.05)
        return self.messages[count - 1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(settings, live_server):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.MNVAULT_PUBLIC_URL = live_server.url
    yield inbox
    controller.stop()


def body_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_employee_registers_on_a_phone_and_the_handler_approves(
    browser, page, live_server, smtp, personas, invitee, make_number
):
    number, dependent = make_number(), make_number()
    # HR staff sends the invitation from the person's page.
    sign_in(page, "staff")
    page.wait_for_selector("#login-history")
    page.goto(f"/c/{personas.company.pk}/people/{invitee.pk}/")
    page.get_by_role("button", name="メールで招待").click()
    mail = smtp.wait(1)
    assert mail["To"] == "taro@example.test"
    found = LINK.search(body_of(mail))
    assert found is not None
    link = found.group(0)

    phone = browser.new_context(**PHONE)
    mobile = phone.new_page()
    mobile.goto(link)
    mobile.wait_for_url("**/register/")
    assert "/r/" not in mobile.url
    mobile.get_by_label("生年月日").fill(BIRTH_DATE.isoformat())
    mobile.get_by_role("button", name="次へ").click()
    assert "源泉徴収票" in mobile.locator("#purposes").inner_text()
    mobile.get_by_label("上記の利用目的を確認しました。").check()
    mobile.get_by_role("button", name="次へ").click()

    mobile.wait_for_load_state()  # the check-digit script is in place
    field = mobile.get_by_label("あなたの個人番号")
    field.press_sequentially(number[:11] + str((int(number[11]) + 1) % 10))
    expect(mobile.locator("#number_check")).to_contain_text("一致しません")
    field.fill("")
    field.press_sequentially(f"{number[:4]} {number[4:8]} {number[8:]}")
    expect(mobile.locator("#number_check")).to_have_text("チェックデジットは一致しています。")
    mobile.get_by_role("button", name="次へ").click()

    mobile.get_by_label("マイナンバーカード（表・裏）").check()
    mobile.get_by_role("button", name="選ぶ").click()
    for side, color in (("front.jpg", (200, 180, 160)), ("back.jpg", (30, 60, 90))):
        mobile.get_by_label("写真またはPDF").set_input_files(
            {"name": side, "mimeType": "image/jpeg", "buffer": jpeg(color=color)}
        )
        mobile.get_by_role("button", name="アップロード").click()
    assert mobile.locator("#documents li").count() == 2
    mobile.locator("#documents-next").click()

    mobile.get_by_label("姓", exact=True).fill("山田")
    mobile.get_by_label("名", exact=True).fill("花子")
    mobile.get_by_label("セイ").fill("ヤマダ")
    mobile.get_by_label("メイ").fill("ハナコ")
    mobile.get_by_label("続柄").select_option("child")
    mobile.get_by_label("生年月日").fill("2015-05-05")
    mobile.get_by_label("扶養親族の個人番号").fill(dependent)
    mobile.get_by_role("button", name="追加", exact=True).click()
    assert "山田 花子" in mobile.locator("#dependents").inner_text()
    mobile.locator("#dependents-next").click()

    mobile.get_by_label(re.compile("扶養親族それぞれの本人確認")).check()
    mobile.get_by_role("button", name="送信").click()
    mobile.wait_for_url("**/register/done")
    assert mobile.locator("#receipt").is_visible()
    receipt = mobile.content()
    for shown in (number, dependent, f"{number[:4]} {number[4:8]} {number[8:]}"):
        assert shown not in receipt
    phone.close()

    # The handler reviews and approves on the office PC.
    office = browser.new_context(base_url=live_server.url, locale="ja-JP")
    desk = office.new_page()
    sign_in(desk, "handler")
    desk.wait_for_url("**/account/two-factor")
    desk.get_by_label("認証アプリのコード").fill(enrolled_device_code(personas.handler))
    desk.get_by_role("button", name="確認").click()
    desk.goto(f"/c/{personas.company.pk}/collection/review/")
    desk.get_by_role("link", name="山田 太郎").click()
    grouped = f"{number[:4]} {number[4:8]} {number[8:]}"
    assert desk.locator("#entered-number").inner_text() == grouped
    images = desk.locator("img.document")
    assert images.count() == 2
    # Each photo fetched in turn: the test database (SQLite in memory, shared cache) locks
    # whole tables, so two parallel image requests can collide here, never on a real file.
    for i in range(2):
        src = images.nth(i).get_attribute("src")
        fetched = desk.evaluate(
            "async src => { const r = await fetch(src); return [r.status, r.headers.get("
            "'content-type'), (await r.arrayBuffer()).byteLength]; }",
            src,
        )
        assert fetched[:2] == [200, "image/jpeg"] and fetched[2] > 100
    desk.get_by_label("書類は入力された氏名・生年月日・番号と一致しています。").check()
    desk.get_by_role("button", name="承認して番号を保管").click()
    desk.wait_for_url(re.compile(rf".*/people/{invitee.pk}/$"))
    assert desk.locator("#number").inner_text() == "●●●● ●●●● ●●●●"
    desk.get_by_label("利用目的").select_option("withholding")
    desk.get_by_role("button", name="30秒間表示").click()
    assert desk.locator("#number").inner_text() == grouped
    office.close()

    for message in smtp.messages:
        text = message.as_string()
        assert number not in text and dependent not in text
