"""Headless Chromium (Debian's, installed by run-tests) driven by Playwright, for tests of the
pages as a person uses them, and signed-in test clients. Registered as fixtures by the root
``mnvault/conftest.py``, once for every app's tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, Chromium tries to reach Google's services, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"no Chromium at {CHROMIUM}: run-tests installs it (apt chromium)")
        pytest.skip("no Chromium here: ./run-tests installs it")
    from playwright.sync_api import sync_playwright

    # Playwright's event loop runs in this thread; the tests' own ORM calls are synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server) -> Iterator:
    context = browser.new_context(base_url=live_server.url, locale="ja-JP")
    page = context.new_page()
    yield page
    context.close()


def verified_client(user):
    """A test client signed in as ``user`` with a confirmed second factor, as after the code
    page (so the sign-in is fresh: no confirmation before a reveal). Each call makes a new
    client, so a test can hold several users at once."""
    import time

    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from mnvault.accounts import twofactor
    from mnvault.accounts.models import SealedTOTPDevice
    from mnvault.web.reauth import AUTHENTICATED_AT

    client = Client()
    client.force_login(user)
    device = SealedTOTPDevice.objects.filter(user=user, name="test").first() or (
        twofactor.new_totp_device(user, name="test", confirmed=True)
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[AUTHENTICATED_AT] = time.time()
    session.save()
    return client


@pytest.fixture
def signed_in():
    return verified_client


@pytest.fixture
def stored(personas, employee, make_number) -> str:
    """A number stored for ``employee`` by the handler, notified for withholding."""
    from mnvault.vault.services import Verification, store_number

    number = make_number()
    store_number(
        acting_user=personas.handler,
        person=employee,
        number=number,
        purposes=["withholding"],
        verification=Verification(channel="in_person", document_kinds=["my_number_card"]),
    )
    return number
