"""Screenshots of the documents pages (利用・提供) in Japanese and English, for the README: the
list of runs and a run with problems to fix, at a desktop width, and the run on a phone.

Run by hand after a change to those pages (not part of the test suite):

    .venv/bin/python docs/screenshots/make_runs.py

As make.py: a throwaway installation with the demo company (generated numbers, never real
ones), three runs made through the service as the demo handler — one submitted, one produced
three weeks ago and not submitted (the warning), one prepared with problems — then
``mnvault serve`` and the handler signed in with a new phone. The archives' passwords are
thrown away; the data directory is deleted at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from make import BASE, PORT, ROOT, mnvault, sign_in_with_new_phone

OUT = Path(__file__).resolve().parent

RUNS = """
import sys
from datetime import date, timedelta
import django
django.setup()
from django.utils import timezone
from mnvault.accounts.models import User
from mnvault.companies.models import Company
from mnvault.people.models import Person
from mnvault.scheduler import tasks
from mnvault.usage import runs
from mnvault.usage.models import DocumentRun
from mnvault.usage.tests.factory import Staff, csv_bytes, unified_row

handler = User.objects.get(username=sys.argv[1])
company = Company.objects.order_by("pk").first()
employees = list(Person.objects.filter(company=company, kind="employee").order_by("pk")[:12])

def row(person, **kwargs):
    return unified_row(2025, Staff(person, list(Person.objects.filter(employee=person))), **kwargs)

def produced(people, detail):
    run = runs.prepare_run(acting_user=handler, company=company, kind="withholding", year=2025,
        data=csv_bytes([row(p) for p in people]), source_name="gensen-2025.csv",
        recipient_detail=detail)
    runs.start_production(acting_user=handler, run=run)  # the password is not kept
    tasks.run_pending()
    run.refresh_from_db()
    return run

done = produced(employees, "麹町税務署")
runs.mark_submitted(acting_user=handler, run=done, submitted_on=timezone.localdate(),
    method="etax")
late = produced(employees[:4], "")
DocumentRun.objects.filter(pk=late.pk).update(produced_at=timezone.now() - timedelta(days=21))
lines = [row(p) for p in employees[:8]]
lines[2] = row(employees[2], code="")  # matched by name and birth date: to confirm
odd = employees[4]
lines[4] = row(odd, name="髙" + odd.family_name[1:] + " " + odd.given_name)  # outside JIS 1-2
stranger = Person(family_name="未登録", given_name="次郎", family_name_kana="ミトウロク",
    given_name_kana="ジロウ", birth_date=date(1999, 9, 9), employee_code="E999999")
lines[6] = unified_row(2025, Staff(stranger))  # matches nobody
fixing = runs.prepare_run(acting_user=handler, company=company, kind="withholding", year=2025,
    data=csv_bytes(lines), source_name="gensen-2025-additional.csv",
    recipient_detail="麹町税務署")
print(fixing.pk)
"""


def main() -> None:
    data = Path(tempfile.mkdtemp(prefix="mnvault-shots-"))
    env = {**os.environ, "MNVAULT_DATA_DIR": str(data), "MNVAULT_LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    mnvault(env, "init")
    demo = mnvault(env, "demo", "--people", "60", "--seed", "7")
    handler = re.search(r"handler\s+user: (\S+)\s+password: (\S+)", demo)
    assert handler is not None
    made = subprocess.run(
        [sys.executable, "-c", RUNS, handler[1]],
        env={**env, "DJANGO_SETTINGS_MODULE": "mnvault.settings"},
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    run_id = made.stdout.strip().splitlines()[-1]
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
        shoot(handler[1], handler[2], run_id)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data, ignore_errors=True)


def shoot(username: str, password: str, run_id: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "mnvault.settings"
    from playwright.sync_api import sync_playwright

    from mnvault.web.tests.fixtures import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ja-JP")
        page = context.new_page()
        sign_in_with_new_phone(page, username, password)
        company = page.locator("table a").first.get_attribute("href")
        for language in ("ja", "en"):
            if language == "en":
                page.goto(f"{BASE}{company}")
                page.click("button[name=language]")
                page.wait_for_load_state()
            page.goto(f"{BASE}{company}documents/")
            page.screenshot(path=OUT / f"documents-{language}.png", full_page=True)
            page.goto(f"{BASE}{company}documents/{run_id}/")
            page.screenshot(path=OUT / f"document-run-{language}.png", full_page=True)
        page.goto(f"{BASE}{company}")
        page.click("button[name=language]")  # back to Japanese for the phone
        phone = context.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.goto(f"{BASE}{company}documents/{run_id}/")
        phone.screenshot(path=OUT / "document-run-phone-ja.png", full_page=True)
        browser.close()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
