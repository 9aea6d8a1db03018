"""In a real Chromium on a phone-sized screen (390 px): a handler uploads a payroll file,
produces the documents, notes the password shown once and downloads the archive, which opens
with that password."""

from __future__ import annotations

import re

import pytest
import pyzipper
from playwright.sync_api import expect

from mnvault.conftest import ALL_DATABASES
from mnvault.scheduler import tasks
from mnvault.usage.tests.factory import csv_bytes, staff, unified_row
from mnvault.web.tests.test_accessibility import serious_violations
from mnvault.web.tests.test_e2e_phone import PHONE

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)]
YEAR = 2025
PASSWORD = re.compile(r"^[A-Za-z2-9]{5}(?:-[A-Za-z2-9]{5}){3}$")
WIDE = "document.documentElement.scrollWidth"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MNVAULT_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def handler_page(browser, live_server, personas):
    from mnvault.web.tests.fixtures import verified_client

    client = verified_client(personas.handler)
    context = browser.new_context(base_url=live_server.url, accept_downloads=True, **PHONE)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    yield context.new_page()
    context.close()


def test_a_handler_produces_and_downloads_on_a_phone(handler_page, personas, make_number, tmp_path):
    page = handler_page
    scene = staff(personas.company, personas.handler, make_number, 3)
    data = csv_bytes([unified_row(YEAR, s) for s in scene])
    page.goto(f"/c/{personas.company.pk}/documents/")
    assert page.evaluate(WIDE) <= 390
    page.get_by_role("link", name="新規作成").click()
    page.get_by_label("書類", exact=True).select_option("withholding")
    page.get_by_label("年分（支払の年）").fill(str(YEAR))
    page.get_by_label("給与データのファイル（CSV、個人番号欄は空）").set_input_files(
        {"name": "gensen.csv", "mimeType": "text/csv", "buffer": data}
    )
    assert page.evaluate(WIDE) <= 390
    page.get_by_role("button", name="ファイルを読み込んでチェック").click()
    page.wait_for_url(re.compile(r".*/documents/\d+/$"))
    expect(page.locator("#provisional")).to_be_visible()
    assert page.evaluate(WIDE) <= 390
    assert serious_violations(page) == []

    page.get_by_role("button", name="書類を作成").click()
    password = page.locator("#password").inner_text().strip()
    assert PASSWORD.match(password)
    expect(page.get_by_text("表示は一度だけです", exact=False)).to_be_visible()
    assert page.evaluate(WIDE) <= 390
    assert serious_violations(page) == []
    tasks.run_pending()
    page.get_by_role("link", name="パスワードを控えました：作成の進み具合を見る").click()
    page.wait_for_url(re.compile(r".*/documents/\d+/$"))
    assert password not in page.content()
    expect(page.locator("#summary [data-status]")).to_have_attribute("data-status", "produced")
    assert page.evaluate(WIDE) <= 390

    with page.expect_download() as download:
        page.get_by_role("button", name="アーカイブをダウンロード（個人番号あり）").click()
    saved = tmp_path / "archive.zip"
    download.value.save_as(saved)
    assert re.fullmatch(r"mnvault-withholding-2025-run\d+\.zip", download.value.suggested_filename)
    with pyzipper.AESZipFile(saved) as archive:
        archive.setpassword(password.encode())
        assert archive.read(f"315_{YEAR}_unified.csv")
