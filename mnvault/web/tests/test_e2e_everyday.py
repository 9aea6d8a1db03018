"""What a first-time user saw on the pages, checked in headless Chromium at a phone's
viewport (390 × 844) and at a desktop's (1280 × 800): the corrected number, checkboxes beside
their labels, the staff menu and tables, the wording (issue 10, items 13–16)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from mnvault.collection.tests.conftest import BIRTH_DATE, Walker, invite_by_email, jpeg
from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.web.tests.fixtures import verified_client
from mnvault.web.tests.test_e2e_phone import BROKEN_WORDS, wrong_check_digit
from mnvault.web.tests.test_signin import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)]
SCREENS = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 3,
        "is_mobile": True,
        "has_touch": True,
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}


@pytest.fixture(params=sorted(SCREENS))
def screen(request, browser, live_server) -> Iterator:
    """A browser context of each screen size, in Japanese."""
    context = browser.new_context(
        base_url=live_server.url, locale="ja-JP", **SCREENS[request.param]
    )
    context.screen_name = request.param
    yield context
    context.close()


@pytest.fixture
def staff_page(screen, live_server):
    """A page of ``screen`` signed in as a given user (second factor done): user → page."""

    def sign_in(user):
        client = verified_client(user)
        cookie = client.cookies["sessionid"].value
        screen.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
        return screen.new_page()

    return sign_in


def same_line(box, label) -> bool:
    """The box sits left of its label, on the label's first line."""
    first_line = label.evaluate(
        "l => { const r = document.createRange(); r.selectNodeContents(l);"
        " const f = r.getClientRects()[0]; return [f.top, f.bottom]; }"
    )
    b = box.bounding_box()
    middle = b["y"] + b["height"] / 2
    return b["x"] + b["width"] <= label.bounding_box()["x"] and (
        first_line[0] - 2 <= middle <= first_line[1] + 2
    )


def open_registration(page, personas, **person) -> None:
    invitee = make_person(
        personas.company, birth_date=BIRTH_DATE, email="taro@example.test", **person
    )
    _, token = invite_by_email(personas.staff, invitee)
    page.goto(f"/r/{token}")
    page.get_by_label("生年月日").fill(BIRTH_DATE.isoformat())
    page.get_by_role("button", name="次へ").click()


# Item 13


def test_a_corrected_number_drops_the_server_error_on_every_screen(screen, personas, make_number):
    page = screen.new_page()
    open_registration(page, personas)
    page.get_by_label("上記の利用目的を確認しました。").check()
    page.get_by_role("button", name="次へ").click()
    number = make_number()
    field = page.get_by_label("あなたの個人番号")
    field.fill(wrong_check_digit(number))
    page.get_by_role("button", name="次へ").click()
    server_error = page.locator("#id_number_error")
    expect(server_error).to_contain_text("一致しません")
    page.wait_for_load_state()  # the check-digit script is in place
    field.fill("")
    field.press_sequentially(number)
    expect(page.locator("#number_check")).to_have_text("チェックデジットは一致しています。")
    expect(server_error).to_have_count(0)
    expect(page.locator("main .error")).to_have_count(0)


# Item 14


def test_the_purposes_checkbox_sits_beside_its_clickable_label(screen, personas):
    page = screen.new_page()
    open_registration(page, personas)
    box = page.get_by_role("checkbox", name="上記の利用目的を確認しました。")
    label = page.locator(f"label[for='{box.get_attribute('id')}']")
    assert same_line(box, label), screen.screen_name
    label.click()
    expect(box).to_be_checked()
    label.click()
    expect(box).not_to_be_checked()


def test_the_relationship_label_of_a_dependent_is_translated(screen, personas):
    page = screen.new_page()
    open_registration(page, personas)
    page.get_by_label("上記の利用目的を確認しました。").check()
    page.get_by_role("button", name="次へ").click()
    page.goto("/register/dependents")
    expect(page.get_by_label("続柄")).to_be_visible()
    assert "Relationship" not in page.locator("main").inner_text()


@pytest.fixture
def submitted(personas, make_number):
    """A registration handed in through the pages (by the test client), to review."""
    invitee = make_person(personas.company, birth_date=BIRTH_DATE, email="taro@example.test")
    _invitation, token = invite_by_email(personas.staff, invitee)
    walker = Walker(token)
    walker.enter_number(make_number())
    walker.upload("my_number_card", jpeg(), "front.jpg")
    walker.upload("my_number_card", jpeg(color=(10, 20, 30)), "back.jpg")
    response = walker.confirm(attested=False)
    assert response.status_code == 302, response.content
    from mnvault.collection.models import Submission

    return Submission.objects.get(person=invitee)


def test_the_review_checkbox_sits_beside_its_clickable_label(staff_page, personas, submitted):
    page = staff_page(personas.handler)
    page.goto(f"/c/{personas.company.pk}/collection/review/{submitted.pk}/")
    matches = "書類は入力された氏名・生年月日・番号と一致しています。"
    box = page.get_by_role("checkbox", name=matches)
    label = page.locator(f"label[for='{box.get_attribute('id')}']")
    assert same_line(box, label)
    label.click()
    expect(box).to_be_checked()


def test_an_email_input_is_as_large_as_a_text_input(staff_page, personas):
    page = staff_page(personas.staff)
    page.goto(f"/c/{personas.company.pk}/people/new")
    email = page.locator("input[type=email]").first.bounding_box()
    text = page.locator("input[type=text]").first.bounding_box()
    assert email["height"] == pytest.approx(text["height"], abs=1)
    assert email["width"] == pytest.approx(text["width"], abs=1)
    assert email["height"] >= 36


# Item 15


def test_staff_tables_keep_words_and_headers_whole(staff_page, personas, employee, stored):
    from mnvault.accounts.models import Membership, Role, User

    user = User.objects.create_user(username="everyone", password=PASSWORD)
    for role in Role.values:
        Membership.objects.create(user=user, company=personas.company, role=role)
    page = staff_page(user)
    company = personas.company.pk
    for url in (
        f"/c/{company}/people/",
        f"/c/{company}/audit/",
        f"/c/{company}/ledger/",
        f"/c/{company}/users/",
    ):
        page.goto(url)
        tables = page.locator("main table")
        assert tables.count() > 0, url
        for i in range(tables.count()):
            assert tables.nth(i).evaluate(BROKEN_WORDS) == [], url
    page.goto(f"/c/{company}/people/")
    status = page.locator("#people td", has_text="承認済み").first
    one_line = status.evaluate(
        "td => { const r = document.createRange(); r.selectNodeContents(td);"
        " return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }"
    )
    assert one_line == 1


def test_the_menu_takes_one_line_and_folds_behind_a_button_on_a_phone(staff_page, personas, screen):
    page = staff_page(personas.responsible_manager)
    page.goto(f"/c/{personas.company.pk}/")
    brand = page.locator("header.bar .brand").bounding_box()
    bar = page.locator("header.bar").bounding_box()
    assert bar["height"] < 2.5 * brand["height"]
    toggle = page.locator("label.menu-button")
    if screen.screen_name == "phone":
        expect(toggle).to_be_visible()
        expect(page.get_by_role("navigation", name="会社")).to_be_hidden()
    else:
        expect(toggle).to_be_hidden()
        expect(page.get_by_role("navigation", name="会社")).to_be_visible()


# Item 16


def test_people_are_called_subjects_in_the_menu_and_the_button(staff_page, personas, screen):
    page = staff_page(personas.staff)
    page.goto(f"/c/{personas.company.pk}/")
    if screen.screen_name == "phone":
        page.locator("label.menu-button").click()
    menu = page.get_by_role("navigation", name="会社")
    expect(menu.get_by_role("link", name="対象者", exact=True)).to_be_visible()
    menu.get_by_role("link", name="対象者", exact=True).click()
    page.wait_for_url(re.compile(r".*/people/$"))
    expect(page.get_by_role("link", name="対象者を追加")).to_be_visible()
    assert "人を追加" not in page.locator("main").inner_text().replace("対象者を追加", "")


def test_a_password_change_has_plain_labels_and_is_confirmed(staff_page, personas):
    page = staff_page(personas.staff)
    page.goto("/account/password")
    assert "元のパスワード" not in page.locator("main").inner_text()
    page.get_by_label("現在のパスワード").fill(PASSWORD)
    page.get_by_label("新しいパスワード", exact=True).fill("a fresh password for 2027")
    page.get_by_label("新しいパスワード(確認用)").fill("a fresh password for 2027")
    page.get_by_role("button", name="パスワードを変更").click()
    expect(page.get_by_text("パスワードを変更しました。")).to_be_visible()
