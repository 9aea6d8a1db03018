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


# Every text run of a table's cells, split where a line may break anyway (spaces, Japanese
# punctuation): the runs a line break cuts in two. Visually hidden text (a 1-pixel box) is
# left out.
BROKEN_WORDS = """table => {
  const broken = [];
  for (const cell of table.querySelectorAll("th, td")) {
    const texts = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = texts.nextNode(); node; node = texts.nextNode()) {
      if (node.parentElement.closest(".visually-hidden")) continue;
      const words = /[^\\s、。・：（）()]+/g;
      for (let word = words.exec(node.data); word; word = words.exec(node.data)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(word[0]);
      }
    }
  }
  return broken;
}"""


# What sticks out to the right of a 390-pixel screen, but for what a table scrolls inside it.
OUTSIDE_THE_SCREEN = """[...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > 391 && !e.parentElement.closest("table"))
  .map(e => `${e.tagName}#${e.id}.${e.className}`)"""


@pytest.fixture
def everyone(personas):
    """A user holding every role in the company: every section in the menu."""
    from mnvault.accounts.models import Membership, Role, User

    user = User.objects.create_user(username="everyone", password="correct horse battery 42")
    for role in Role.values:
        Membership.objects.create(user=user, company=personas.company, role=role)
    for i in range(3):
        make_person(
            personas.company,
            family_name="長谷川",
            given_name=f"真由美{i}",
            employee_code=f"E10{i}",
            email=f"mayumi{i}@example.test",
        )
    return user


def signed_in_page(browser, live_server, user, width: int):
    """A page of a browser context signed in as ``user`` (second factor done), at ``width``."""
    from mnvault.web.tests.fixtures import verified_client

    client = verified_client(user)
    context = browser.new_context(
        base_url=live_server.url, **{**PHONE, "viewport": {"width": width, "height": 844}}
    )
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context, context.new_page()


def test_on_a_phone_the_staff_menu_folds_into_one_line(browser, live_server, personas, everyone):
    context, page = signed_in_page(browser, live_server, everyone, 390)
    page.goto(f"/c/{personas.company.pk}/")
    bar, brand = page.locator("header.bar"), page.locator("header.bar .brand")
    menu = page.locator("label.menu-button")
    expect(menu).to_be_visible()
    # One line: the brand, the company and the menu button side by side, nothing below.
    assert abs(menu.bounding_box()["y"] - brand.bounding_box()["y"]) < 16
    assert bar.bounding_box()["height"] < 2.5 * brand.bounding_box()["height"]
    sections = page.get_by_role("navigation", name="会社")
    expect(sections).to_be_hidden()
    # Opened, every section and the account's buttons are there, one under another.
    menu.click()
    expect(sections).to_be_visible()
    links = sections.get_by_role("link")
    assert links.count() == 9
    tops = [links.nth(i).bounding_box()["y"] for i in range(links.count())]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)
    expect(page.get_by_role("button", name="サインアウト")).to_be_visible()
    links.filter(has_text="対象者").click()
    page.wait_for_url(f"**/c/{personas.company.pk}/people/")
    context.close()


def test_on_a_desktop_the_menu_stays_in_the_bar(browser, live_server, personas, everyone):
    context, page = signed_in_page(browser, live_server, everyone, 1280)
    page.goto(f"/c/{personas.company.pk}/")
    expect(page.locator("label.menu-button")).to_be_hidden()
    links = page.get_by_role("navigation", name="会社").get_by_role("link")
    assert links.count() == 9
    brand = page.locator("header.bar .brand").bounding_box()
    signout = page.get_by_role("button", name="サインアウト").bounding_box()
    for i in range(links.count()):
        expect(links.nth(i)).to_be_visible()
        box = links.nth(i).bounding_box()
        assert box["x"] > brand["x"] + brand["width"] and box["x"] < signout["x"]
        assert abs(box["y"] + box["height"] / 2 - (brand["y"] + brand["height"] / 2)) < 8
    context.close()


def test_on_a_phone_no_table_cell_breaks_inside_a_word(
    browser, live_server, personas, everyone, make_number
):
    from datetime import date

    from mnvault.vault.services import Verification, store_number

    leaver = make_person(personas.company, family_name="退職", leave_date=date(2015, 3, 31))
    store_number(  # due for disposal: a row in the disposal queue
        acting_user=personas.handler,
        person=leaver,
        number=make_number(),
        purposes=["withholding"],
        verification=Verification(channel="in_person"),
    )
    context, page = signed_in_page(browser, live_server, everyone, 390)
    company = personas.company.pk
    pages = ["/", f"/c/{company}/", f"/c/{company}/people/", f"/c/{company}/users/"]
    areas = [f"/c/{company}/documents/", f"/c/{company}/disposal/"]
    for url in [*pages, *areas, f"/c/{company}/disposal/declarations"]:
        page.goto(url)
        tables = page.locator("main table")
        assert tables.count() > 0, url
        for i in range(tables.count()):
            broken = tables.nth(i).evaluate(BROKEN_WORDS)
            assert broken == [], (url, broken)
            assert tables.nth(i).evaluate("t => t.getBoundingClientRect().right") <= 390, url
        # A wide table scrolls by itself: the page never scrolls sideways.
        wide = page.evaluate(OUTSIDE_THE_SCREEN)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, (url, wide)
        # Still tables to a screen reader, however they are laid out.
        assert page.get_by_role("table").count() == tables.count(), url
    context.close()
