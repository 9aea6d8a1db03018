"""Screenshots of the main staff pages in Japanese and English, for the README.

Run by hand after a change to the pages (not part of the test suite):

    .venv/bin/python docs/screenshots/make.py

It makes a throwaway installation with a demo company (generated numbers, never real ones),
starts ``mnvault serve`` on it, signs in as the demo handler (enrolling the second factor
from the key shown on the page) and photographs each page at a desktop and a phone width.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

OUT = Path(__file__).resolve().parent
ROOT = OUT.parents[1]
PORT = 8790
BASE = f"http://127.0.0.1:{PORT}"


def mnvault(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mnvault.cli.main", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def totp(secret: str) -> str:
    from django_otp.oath import totp as oath_totp

    return f"{oath_totp(base64.b32decode(secret.replace(' ', ''))):06d}"


# A newcomer of the demo company without a number, invited on a printed sheet by the demo
# handler: prints the link's token, for the phone registration screenshots.
INVITE = """
import sys
from datetime import date
import django
django.setup()
from mnvault.accounts.models import User
from mnvault.collection.invitations import invite
from mnvault.companies.models import Company
from mnvault.people.models import Person
company = Company.objects.order_by("pk").first()
person = Person.objects.create(company=company, kind="employee", family_name="新入",
    given_name="花子", family_name_kana="シンニュウ", given_name_kana="ハナコ",
    birth_date=date(1995, 6, 15), email="hanako@example.test")
result = invite(acting_user=User.objects.get(username=sys.argv[1]), company=company,
    people=[person], delivery="print")
print(result.printed[0][1])
"""

# Three demo employees with numbers who left in 2015 (due for disposal) and one leaving in 40
# days; the first disposed of (proposed by the handler, approved by the responsible manager):
# prints the done batch's id, for the disposal screenshots.
DISPOSAL = """
import sys
from datetime import date, timedelta
import django
django.setup()
from django.utils import timezone
from mnvault.accounts.models import User
from mnvault.companies.models import Company
from mnvault.people.models import Person
from mnvault.retention import services
company = Company.objects.order_by("pk").first()
people = list(Person.objects.filter(company=company, kind="employee",
    number_record__status="active").order_by("pk")[:4])
for person in people[:3]:
    person.hire_date, person.leave_date = date(2008, 4, 1), date(2015, 3, 31)
    person.save()
people[3].leave_date = timezone.localdate() + timedelta(days=40)
people[3].save()
batch = services.propose(acting_user=User.objects.get(username=sys.argv[1]), company=company,
    people=people[:1])
services.approve(acting_user=User.objects.get(username=sys.argv[2]), batch=batch)
print(batch.pk)
"""


def main() -> None:
    data = Path(tempfile.mkdtemp(prefix="mnvault-shots-"))
    env = {**os.environ, "MNVAULT_DATA_DIR": str(data), "MNVAULT_LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    mnvault(env, "init")
    demo = mnvault(env, "demo", "--people", "60", "--seed", "7")
    password = re.search(r"handler\s+user: (\S+)\s+password: (\S+)", demo)
    manager = re.search(r"responsible_manager\s+user: (\S+)\s+password: (\S+)", demo)
    invited = subprocess.run(
        [sys.executable, "-c", INVITE, password[1]],
        env={**env, "DJANGO_SETTINGS_MODULE": "mnvault.settings"},
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    global TOKEN, BATCH
    TOKEN = invited.stdout.strip()
    BATCH = subprocess.run(
        [sys.executable, "-c", DISPOSAL, password[1], manager[1]],
        env={**env, "DJANGO_SETTINGS_MODULE": "mnvault.settings"},
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    server = subprocess.Popen(
        [sys.executable, "-m", "mnvault.cli.main", "serve", "--port", str(PORT)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen(f"{BASE}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        shoot(password[1], password[2], manager[1], manager[2])
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data, ignore_errors=True)


def sign_in_with_new_phone(page, username: str, password: str) -> None:
    page.goto(f"{BASE}/login")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button.primary")
    page.wait_for_selector("#totp-secret")
    page.fill("#id_code", totp(page.inner_text("#totp-secret")))
    page.click("button.primary")
    page.click("a.button.primary")


def shoot(username: str, password: str, manager: str, manager_password: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "mnvault.settings"
    from playwright.sync_api import sync_playwright

    from mnvault.web.tests.fixtures import CHROMIUM_ARGS  # the browser tests' own flags

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1200, "height": 820}, locale="ja-JP")
        page.goto(f"{BASE}/login")
        page.screenshot(path=OUT / "sign-in-ja.png")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button.primary")
        page.wait_for_selector("#totp-secret")
        page.screenshot(path=OUT / "two-factor-ja.png")
        page.fill("#id_code", totp(page.inner_text("#totp-secret")))
        page.click("button.primary")
        page.click("a.button.primary")
        company = page.locator("table a").first.get_attribute("href")
        pages = {"dashboard": company, "people": f"{company}people/"}
        for language in ("ja", "en"):
            if language == "en":
                page.goto(f"{BASE}{company}")
                page.click("button[name=language]")
                page.wait_for_load_state()
            for name, url in pages.items():
                page.goto(f"{BASE}{url}")
                page.screenshot(path=OUT / f"{name}-{language}.png", full_page=False)
            page.goto(f"{BASE}{company}people/")
            page.locator("#people a").first.click()
            page.screenshot(path=OUT / f"person-{language}.png")
            page.click("form[action$=reveal] button.primary")
            page.wait_for_selector(".revealed")
            page.screenshot(path=OUT / f"reveal-{language}.png")
        office = browser.new_page(viewport={"width": 1200, "height": 820}, locale="ja-JP")
        sign_in_with_new_phone(office, manager, manager_password)
        for name in ("users", "settings", "audit", "ledger"):
            office.goto(f"{BASE}{company}{name}/")
            office.screenshot(path=OUT / f"{name}-ja.png")
        office.goto(f"{BASE}{company}disposal/")
        office.screenshot(path=OUT / "disposal-queue-ja.png", full_page=True)
        office.goto(f"{BASE}{company}disposal/{BATCH}/")
        office.screenshot(path=OUT / "disposal-batch-ja.png", full_page=True)
        phone = browser.new_page(viewport={"width": 390, "height": 760}, locale="ja-JP")
        phone.goto(f"{BASE}/login")
        phone.screenshot(path=OUT / "sign-in-phone-ja.png")
        page.goto(f"{BASE}{company}collection/")
        page.screenshot(path=OUT / "collection-en.png")
        office.goto(f"{BASE}{company}collection/")
        office.screenshot(path=OUT / "collection-ja.png")
        register_on_a_phone(browser)
        browser.close()
    print(f"screenshots written to {OUT}")


TOKEN = ""
BATCH = ""


def register_on_a_phone(browser) -> None:
    """The invited newcomer's first steps on a phone, with a generated number."""
    import random

    from mnvault.domain.numbers import generate_fake

    phone = browser.new_page(viewport={"width": 390, "height": 760}, locale="ja-JP")
    phone.goto(f"{BASE}/r/{TOKEN}")
    phone.wait_for_url("**/register/")
    phone.fill("#id_birth_date", "1995-06-15")
    phone.click("button.primary")
    phone.screenshot(path=OUT / "register-purposes-phone-ja.png", full_page=True)
    phone.check("#id_acknowledged")
    phone.click("button.primary")
    phone.wait_for_load_state()
    phone.type("#id_number", generate_fake(random.Random(7)))
    phone.screenshot(path=OUT / "register-number-phone-ja.png", full_page=True)


if __name__ == "__main__":
    main()
