"""An axe-core check of the main staff pages and the registration pages in a real Chromium:
no serious or critical violation (issue 10). axe-core ships inside axe-playwright-python."""

from __future__ import annotations

import pytest

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
    page, personas, employee, stored
):
    sign_in(page, "responsible_manager")
    company = personas.company.pk
    found = {}
    for path in [
        "/",
        f"/c/{company}/",
        f"/c/{company}/people/",
        f"/c/{company}/people/{employee.pk}/",
        f"/c/{company}/collection/",
        f"/c/{company}/users/",
        f"/c/{company}/audit/",
        f"/c/{company}/ledger/",
        f"/c/{company}/settings/",
        f"/c/{company}/documents/",
        f"/c/{company}/documents/new",
    ]:
        response = page.goto(path)
        assert response is not None and response.ok, path
        found[path] = serious_violations(page)
    assert {path: v for path, v in found.items() if v} == {}


def test_the_check_finds_a_serious_violation(page):
    """The check can fail: an image without a text alternative is a critical violation."""
    page.set_content('<html lang="ja"><body><main><img src="x.png"></main></body></html>')
    assert any(v.startswith("image-alt") for v in serious_violations(page))


def test_the_registration_pages_have_no_serious_accessibility_violation(page, personas):
    from mnvault.collection.tests.conftest import BIRTH_DATE, invite_by_email
    from mnvault.conftest import make_person

    invitee = make_person(personas.company, email="taro@example.test", birth_date=BIRTH_DATE)
    _invitation, token = invite_by_email(personas.staff, invitee)
    response = page.goto(f"/r/{token}")
    assert response is not None and response.ok
    page.wait_for_url("**/register/**")  # the link is swapped for a session at once
    page.wait_for_load_state()
    assert serious_violations(page) == []
