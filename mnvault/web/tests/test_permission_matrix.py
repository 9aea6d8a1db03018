"""Who reaches which page: one table of every route of the URLconf, each persona's expected
status for GET (and for POST where the page takes a form), checked route by route. A route
added without a row fails, and so does a row whose route is gone.

The expectations follow the product's rules (the role table in mnvault/domain/roles.py and
``company_page(capability=…)``): a company's page is 404 to anyone without a role there (even
its existence stays hidden); anonymous visitors are sent to sign in; the number pages (entry,
reveal, review) are for handlers and responsible managers; the registration pages (/r/,
/register/) need the invitation's link, not an account. A POST refused with 404 or 405, or an
anonymous one sent to sign in, changes nothing; one refused with 403 by a service changes
nothing but the audit log, where the refusal is recorded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mnvault.audit.models import AuditEntry
from mnvault.collection import refusals
from mnvault.conftest import ALL_DATABASES
from mnvault.usage.tests.factory import Staff, csv_bytes, unified_row
from mnvault.web.tests.fixtures import verified_client
from mnvault.web.tests.routes import OWN_NETWORK, RUN_YEAR, World, routes, snapshot

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

# The columns of the table, in order.
PERSONAS = (
    "anonymous",
    "company_admin",
    "responsible_manager",
    "handler",
    "auditor",
    "staff",
    "other_handler",  # a handler of another company
    "installation_admin",  # no role in the company
    "no_role",  # signed in, no role anywhere
)


@dataclass(frozen=True)
class Bug:
    """A cell where the product does not yet do what the rules say: the expected status, and
    why. The test is a strict xfail until the product is fixed."""

    status: int
    reason: str


# fmt: off
MATRIX = {
    # route                         method  anon  admin mgr  hdlr  aud  staff other inst  none
    # Sign-in and one's own account: nothing company-specific.
    "web:home":               {"GET":  (302, 200, 200, 200, 200, 200, 200, 200, 200)},
    "web:healthz":            {"GET":  (200, 200, 200, 200, 200, 200, 200, 200, 200)},
    "web:login":              {"GET":  (200, 200, 200, 200, 200, 200, 200, 200, 200),
                               "POST": (200, 200, 200, 200, 200, 200, 200, 200, 200)},
    "web:code":               {"GET":  (302, 200, 200, 200, 200, 200, 200, 200, 200),
                               "POST": (302, 200, 200, 200, 200, 200, 200, 200, 200)},
    "web:enrol":              {"GET":  (302, 200, 200, 200, 200, 200, 200, 200, 200),
                               "POST": (302, 200, 200, 200, 200, 200, 200, 200, 200)},
    # Confirming one's identity again before a reveal or a role change (an empty form: 200).
    "web:reauth":             {"GET":  (302, 200, 200, 200, 200, 200, 200, 200, 200),
                               "POST": (302, 200, 200, 200, 200, 200, 200, 200, 200)},
    # Shown once after enrolment; otherwise back to the home page.
    "web:recovery_codes":     {"GET":  (302, 302, 302, 302, 302, 302, 302, 302, 302)},
    "web:logout":             {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 302, 302, 302, 302, 302, 302, 302, 302)},
    "web:password_change":    {"GET":  (302, 200, 200, 200, 200, 200, 200, 200, 200),
                               "POST": (302, 200, 200, 200, 200, 200, 200, 200, 200)},
    "set_language":           {"GET":  (302, 302, 302, 302, 302, 302, 302, 302, 302),
                               "POST": (302, 302, 302, 302, 302, 302, 302, 302, 302)},
    # The installation admin's page: 404 to everyone else, anonymous included (not a
    # sign-in redirect), so that the page's existence is not shown.
    "web:company_new":        {"GET":  (404, 404, 404, 404, 404, 404, 404, 200, 404),
                               "POST": (404, 404, 404, 404, 404, 404, 404, 200, 404)},
    # A company's pages: every role.
    "web:dashboard":          {"GET":  (302, 200, 200, 200, 200, 200, 404, 404, 404)},
    "web:people":             {"GET":  (302, 200, 200, 200, 200, 200, 404, 404, 404)},
    "web:person":             {"GET":  (302, 200, 200, 200, 200, 200, 404, 404, 404)},
    # Adding and editing people: not the auditor.
    "web:person_new":         {"GET":  (302, 200, 200, 200, 404, 200, 404, 404, 404),
                               "POST": (302, 302, 302, 302, 404, 302, 404, 404, 404)},
    "web:person_edit":        {"GET":  (302, 200, 200, 200, 404, 200, 404, 404, 404),
                               "POST": (302, 302, 302, 302, 404, 302, 404, 404, 404)},
    # Numbers: handlers and responsible managers. A reveal by another role of the company is
    # refused by the vault on the person's page (403, audited as a refused reveal).
    "web:number_entry":       {"GET":  (302, 404, 200, 200, 404, 404, 404, 404, 404),
                               "POST": (302, 404, 302, 302, 404, 404, 404, 404, 404)},
    "web:person_reveal":      {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 403, 200, 200, 403, 403, 404, 404, 404)},
    # Users and roles: seen by admin, manager and auditor; each grant or revocation is the
    # service's decision (403, audited): staff roles by the admin, handlers by the manager.
    "web:users":              {"GET":  (302, 200, 200, 404, 200, 404, 404, 404, 404)},
    "web:login_history":      {"GET":  (302, 200, 200, 404, 200, 404, 404, 404, 404)},
    "web:user_grant":         {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 403, 302, 404, 403, 404, 404, 404, 404)},
    "web:user_new":           {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 302, 302, 404, 403, 404, 404, 404, 404)},
    # The membership revoked is the HR staff's: the company admin and the responsible manager
    # both appoint HR staff (domain/roles.py), so both may revoke it.
    "web:user_revoke":        {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 302, 302, 404, 403, 404, 404, 404, 404)},
    # Company settings: admin and manager.
    "web:settings":           {"GET":  (302, 200, 200, 404, 404, 404, 404, 404, 404),
                               "POST": (302, 302, 302, 404, 404, 404, 404, 404, 404)},
    "web:network_add":        {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 302, 302, 404, 404, 404, 404, 404, 404)},
    "web:network_remove":     {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 302, 302, 404, 404, 404, 404, 404, 404)},
    # Audit log: manager and auditor. Ledger: they and handlers.
    "web:audit":              {"GET":  (302, 404, 200, 404, 200, 404, 404, 404, 404)},
    "web:audit_csv":          {"GET":  (302, 404, 200, 404, 200, 404, 404, 404, 404)},
    "web:audit_verify":       {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 404, 200, 404, 200, 404, 404, 404, 404)},
    "web:ledger":             {"GET":  (302, 404, 200, 200, 200, 404, 404, 404, 404)},
    # Collection: inviters (admin, manager, handler, staff); its settings as the company's.
    "web:collection":         {"GET":  (302, 200, 200, 200, 404, 200, 404, 404, 404)},
    "web:invite":             {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 302, 302, 302, 404, 302, 404, 404, 404)},
    "web:remind_all":         {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 302, 302, 302, 404, 302, 404, 404, 404)},
    "web:withdraw_invitation": {"GET": (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 302, 302, 302, 404, 302, 404, 404, 404)},
    "web:invite_dependents":  {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 302, 302, 302, 404, 302, 404, 404, 404)},
    "web:record_refusal":     {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 302, 302, 302, 404, 302, 404, 404, 404)},
    "web:withdraw_refusal":   {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 302, 302, 302, 404, 302, 404, 404, 404)},
    "web:collection_settings": {"GET": (302, 200, 200, 404, 404, 404, 404, 404, 404),
                               "POST": (302, 302, 302, 404, 404, 404, 404, 404, 404)},
    # Review of submissions (the entered numbers and document photos): number roles only.
    "web:review_queue":       {"GET":  (302, 404, 200, 200, 404, 404, 404, 404, 404)},
    "web:review":             {"GET":  (302, 404, 200, 200, 404, 404, 404, 404, 404)},
    "web:review_document":    {"GET":  (302, 404, 200, 200, 404, 404, 404, 404, 404)},
    "web:approve":            {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 404, 302, 302, 404, 404, 404, 404, 404)},
    "web:send_back":          {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 404, 302, 302, 404, 404, 404, 404, 404)},
    # Documents (利用・提供): seen by those who handle numbers, the auditor and HR staff; prepared
    # and submitted by handlers and managers. Producing and downloading the archive is the
    # service's decision: the auditor and HR staff are refused (403, audited).
    "web:documents":          {"GET":  (302, 404, 200, 200, 200, 200, 404, 404, 404)},
    "web:documents_csv":      {"GET":  (302, 404, 200, 200, 200, 200, 404, 404, 404)},
    "web:document_new":       {"GET":  (302, 404, 200, 200, 404, 404, 404, 404, 404),
                               "POST": (302, 404, 302, 302, 404, 404, 404, 404, 404)},
    "web:document_run":       {"GET":  (302, 404, 200, 200, 200, 200, 404, 404, 404)},
    "web:document_row":       {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 404, 302, 302, 404, 404, 404, 404, 404)},
    # Checking a run again answers with the run's page (it changes only what is found).
    "web:document_refresh":   {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 404, 200, 200, 404, 404, 404, 404, 404)},
    "web:document_produce":   {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 404, 200, 200, 403, 403, 404, 404, 404)},
    "web:document_archive":   {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 404, 200, 200, 403, 403, 404, 404, 404)},
    "web:document_copies":    {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 404, 200, 200, 200, 200, 404, 404, 404)},
    "web:document_submit":    {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 404, 302, 302, 404, 404, 404, 404, 404)},
    "web:document_withdraw":  {"GET":  (405, 405, 405, 405, 405, 405, 405, 405, 405),
                               "POST": (302, 404, 302, 302, 404, 404, 404, 404, 404)},
    # Disposal: seen by managers, handlers and auditors; proposed by managers and handlers and
    # approved by a manager other than the proposer (the handler here): the service refuses the
    # others who see the pages (403, audited).
    "web:disposal":           {"GET":  (302, 404, 200, 200, 200, 404, 404, 404, 404),
                               "POST": (302, 404, 302, 302, 403, 404, 404, 404, 404)},
    "web:disposal_batch":     {"GET":  (302, 404, 200, 200, 200, 404, 404, 404, 404),
                               "POST": (302, 404, 302, 403, 403, 404, 404, 404, 404)},
    "web:disposal_certificate": {"GET": (302, 404, 200, 200, 200, 404, 404, 404, 404)},
    "web:disposal_person_certificate": {"GET": (302, 404, 200, 200, 200, 404, 404, 404, 404)},
    "web:disposal_declarations": {"GET": (302, 404, 200, 200, 404, 404, 404, 404, 404),
                               "POST": (302, 404, 302, 302, 404, 404, 404, 404, 404)},
    # Registration: the link's token opens it for whoever holds it; without a registration
    # under way in this browser, every step is "unknown link" (404), account or not.
    "web:reg_open":           {"GET":  (200, 200, 200, 200, 200, 200, 200, 200, 200)},
    "web:reg_start":          {"GET":  (404, 404, 404, 404, 404, 404, 404, 404, 404),
                               "POST": (404, 404, 404, 404, 404, 404, 404, 404, 404)},
    "web:reg_code":           {"GET":  (404, 404, 404, 404, 404, 404, 404, 404, 404),
                               "POST": (404, 404, 404, 404, 404, 404, 404, 404, 404)},
    "web:reg_notice":         {"GET":  (404, 404, 404, 404, 404, 404, 404, 404, 404),
                               "POST": (404, 404, 404, 404, 404, 404, 404, 404, 404)},
    "web:reg_number":         {"GET":  (404, 404, 404, 404, 404, 404, 404, 404, 404),
                               "POST": (404, 404, 404, 404, 404, 404, 404, 404, 404)},
    "web:reg_documents":      {"GET":  (404, 404, 404, 404, 404, 404, 404, 404, 404),
                               "POST": (404, 404, 404, 404, 404, 404, 404, 404, 404)},
    "web:reg_dependents":     {"GET":  (404, 404, 404, 404, 404, 404, 404, 404, 404),
                               "POST": (404, 404, 404, 404, 404, 404, 404, 404, 404)},
    "web:reg_confirm":        {"GET":  (404, 404, 404, 404, 404, 404, 404, 404, 404),
                               "POST": (404, 404, 404, 404, 404, 404, 404, 404, 404)},
    "web:reg_done":           {"GET":  (404, 404, 404, 404, 404, 404, 404, 404, 404)},
}
# fmt: on

# Form bodies of the POSTs: what a permitted persona would send, so that a refusal by a
# service (403) shows apart from one by the page (404). Routes not listed post an empty form.
BODIES = {
    "web:person_new": lambda w: {"kind": "employee", "family_name": "高橋", "given_name": "健"},
    "web:person_edit": lambda w: {"kind": "employee", "family_name": "山田", "given_name": "次郎"},
    "web:number_entry": lambda w: {
        "number": w.make_number(),
        "document_kinds": ["my_number_card"],
        "verified_on": "2026-11-20",
        "purposes": ["withholding"],
    },
    "web:person_reveal": lambda w: {"purpose": "withholding"},
    "web:user_grant": lambda w: {"grant-username": "no_role", "grant-role": "handler"},
    "web:user_new": lambda w: {
        "new-username": "newcomer",
        "new-full_name": "新人 花子",
        "new-password": "Lantern-orchard-7781",
    },
    "web:settings": lambda w: {
        "corporate_number": "",
        "purposes": ["withholding", "social_insurance"],
        "idle_minutes": "10",
        "data_country": "JP",
    },
    "web:network_add": lambda w: {"cidr": OWN_NETWORK},
    "web:invite": lambda w: {"people": [w.person.pk], "delivery": "email"},
    "web:invite_dependents": lambda w: {"delivery": "email"},
    "web:record_refusal": lambda w: {"reason": "本人が提供を拒否しています。"},
    "web:collection_settings": lambda w: {
        "invitation_days": "7",
        "reminder_every_days": "3",
        "document_retention_days": "0",
    },
    "web:approve": lambda w: {"document_kinds": ["my_number_card"], "confirmed": "on"},
    "web:send_back": lambda w: {"reason": "裏面の写真が読めません。"},
    "web:document_new": lambda w: {
        "kind": "withholding",
        "year": str(RUN_YEAR),
        "file": SimpleUploadedFile(
            "gensen.csv", csv_bytes([unified_row(RUN_YEAR, Staff(w.person))]), "text/csv"
        ),
    },
    "web:document_row": lambda w: {"action": "exclude"},
    "web:document_withdraw": lambda w: {"confirm": "on"},
    "web:document_submit": lambda w: {
        "submitted_on": timezone.localdate().isoformat(),
        "method": "etax",
    },
    "web:disposal": lambda w: {
        "people": [w.leaver.pk],
        "dispose_on": timezone.localdate().isoformat(),
    },
    "web:disposal_batch": lambda w: {"action": "approve"},
    "web:disposal_declarations": lambda w: {"year": "2025"},
}
# Objects a route needs beyond those its URL names: a number to reveal, an invitation to
# remind of.
PREPARE = {
    "web:person_reveal": lambda w: w.stored,
    "web:remind_all": lambda w: w.invitation,
    "web:invite_dependents": lambda w: w.stored,
    "web:withdraw_refusal": lambda w: refusals.record(
        acting_user=w.personas.staff, person=w.person, reason="本人が提供を拒否しています。"
    ),
    "web:document_new": lambda w: w.stored,
    "web:document_archive": lambda w: w.produced,
    "web:document_copies": lambda w: w.produced,
    "web:document_submit": lambda w: w.produced,
    "web:disposal_certificate": lambda w: w.dispose(),
    "web:disposal_person_certificate": lambda w: w.dispose(),
}
# They change only the browser's session or language cookie: their redirect is not to the
# sign-in page, and a POST changes no table.
BROWSER_ONLY = {"web:logout", "set_language"}
REFUSED = {403, 404, 405}


def cells():
    for name, methods in MATRIX.items():
        for method, row in methods.items():
            for persona, expected in zip(PERSONAS, row, strict=True):
                marks = []
                if isinstance(expected, Bug):
                    marks = [pytest.mark.xfail(strict=True, reason=expected.reason)]
                    expected = expected.status
                yield pytest.param(
                    name, method, persona, expected, marks=marks, id=f"{name}-{method}-{persona}"
                )


def test_every_route_is_in_the_matrix():
    found = list(routes())
    twice = [name for name, n in Counter(name for name, _ in found).items() if n > 1]
    assert not twice, f"route names used twice: {twice}"
    names = {name for name, _ in found}
    assert not names - set(MATRIX), f"routes with no row in MATRIX: {sorted(names - set(MATRIX))}"
    assert not set(MATRIX) - names, f"rows of routes that are gone: {sorted(set(MATRIX) - names)}"


def test_every_row_has_a_cell_per_persona_and_post_only_routes_a_post_row():
    for name, methods in MATRIX.items():
        assert "GET" in methods and set(methods) <= {"GET", "POST"}, name
        for row in methods.values():
            assert len(row) == len(PERSONAS), name
        if set(methods["GET"]) == {405}:
            assert "POST" in methods, f"{name} refuses GET: test its POST"
    assert set(BODIES) | set(PREPARE) <= set(MATRIX)


ROUTES = dict(routes())


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Document runs write their files into this test's own data directory."""
    monkeypatch.setenv("MNVAULT_DATA_DIR", str(tmp_path))


@pytest.fixture
def world(personas, make_number) -> World:
    return World(personas, make_number)


def client_of(personas, persona: str) -> Client:
    return Client() if persona == "anonymous" else verified_client(getattr(personas, persona))


@pytest.mark.parametrize(("name", "method", "persona", "expected"), list(cells()))
def test_permission(world, personas, name, method, persona, expected):
    url = world.url(name, ROUTES[name])
    PREPARE.get(name, lambda w: None)(world)
    body = BODIES[name](world) if name in BODIES else {}
    client = client_of(personas, persona)
    before = snapshot()
    audit_seq = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0

    response = client.get(url) if method == "GET" else client.post(url, body)

    assert response.status_code == expected, (url, getattr(response, "url", ""))
    to_sign_in = persona == "anonymous" and expected == 302 and name not in BROWSER_ONLY
    if to_sign_in:
        assert response["Location"] == f"{reverse('web:login')}?next={url}"
    if to_sign_in or expected in REFUSED:
        after = snapshot()
        if expected == 403:  # refused by a service: recorded as refused, nothing else
            added = AuditEntry.objects.filter(seq__gt=audit_seq)
            assert set(added.values_list("outcome", flat=True)) == {"refused"}
            before.pop("audit"), after.pop("audit")
        assert after == before
    elif method == "POST" and expected == 302 and name not in BROWSER_ONLY:
        # A permitted form did its work (not a redirect back with an error): the body is
        # what a permitted persona sends, so a 403 or 404 elsewhere in the row is a refusal.
        assert snapshot() != before, "the permitted POST changed nothing"
