"""No input makes a server error: every query parameter and every form field of the staff
and registration pages, filled with what people and attackers type — very long strings,
any Unicode, NUL bytes, text that looks like a number or an individual number — is answered
with a page, a form error, a redirect or a 4xx, never a 5xx (an exception in a view fails the
test with its traceback).

The pages come from the permission matrix (each page as a persona who may see it, the
routes' arguments built by ``routes.World``); the form fields are read from the forms each
page shows, so a field added to a page is fuzzed without a change here; the query parameters
the views read are listed below, and a test keeps that list complete.
"""

from __future__ import annotations

import random
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnvault.collection import ratelimit
from mnvault.collection.tests.conftest import Walker
from mnvault.conftest import ALL_DATABASES
from mnvault.domain import numbers
from mnvault.web.middleware import MAX_PARAMETER
from mnvault.web.tests.routes import World, routes
from mnvault.web.tests.test_permission_matrix import MATRIX, PERSONAS, client_of

pytestmark = [
    pytest.mark.django_db(databases=ALL_DATABASES),
]

VIEWS = Path(__file__).resolve().parents[1] / "views"
# The query parameters each page's view reads besides the fields of its own GET forms.
QUERY_PARAMETERS = {
    "web:login": ["expired", "locked", "throttled", "next"],
    "web:people": ["q", "kind", "status", "collection", "page"],
    "web:audit": ["page", "person", "person_name", "actor", "action", "outcome", "since", "until"],
    "web:audit_csv": ["person", "person_name", "actor", "action", "outcome", "since", "until"],
    "web:reauth": ["next"],
    "web:reg_dependents": ["q", "change"],
    "web:disposal_certificate": ["language"],
    "web:disposal_person_certificate": ["language"],
}
# Forms every page carries that lead elsewhere: signing out, and Django's language switch.
NOT_FUZZED = ("/logout", "/i18n/")
# Who looks at each page: the first of these the matrix lets see it.
PREFERENCE = ("responsible_manager", "handler", "company_admin", "installation_admin", "auditor")
REGISTRATION = [
    "web:reg_start",
    "web:reg_notice",
    "web:reg_number",
    "web:reg_documents",
    "web:reg_dependents",
    "web:reg_confirm",
    "web:reg_done",
    "web:reg_code",
]


def fake_numbers() -> st.SearchStrategy[str]:
    """Individual numbers with valid check digits (generated, never real), as typed."""
    full = str.maketrans("0123456789", "０１２３４５６７８９")
    return st.builds(
        lambda seed, style: [
            lambda n: n,
            lambda n: f"{n[:4]}-{n[4:8]}-{n[8:]}",
            lambda n: n.translate(full),
        ][style](numbers.generate_fake(random.Random(seed))),
        st.integers(0, 2**32),
        st.integers(0, 2),
    )


# Each of these goes into every field once; then random draws of all kinds.
FIXED = [
    "x" * 100_000,
    "%" * 60_000,
    "ア" * (MAX_PARAMETER + 1),
    "ア" * MAX_PARAMETER,
    "a" * 1025,
    "9" * 400,
    "-1",
    "0",
    "1e309",
    "NaN",
    "２０２６-１１-２０",
    "2026-02-30",
    "0001-01-01",
    "9999-12-31",
    "%_\\'\"",
    "<script>alert(1)</script>",
    "\u202e\ufeff\u200b",
    "𠮷野家\x00",
    " ",
    "",
]
NASTY = st.one_of(
    st.text(max_size=40),
    st.text(max_size=20).map(lambda s: s + "\x00" + s),
    st.integers(0, MAX_PARAMETER + 10).map(lambda n: "ア" * n),
    st.sampled_from(FIXED),
    st.integers(-(2**70), 2**70).map(str),
    fake_numbers(),
)


FIELD_TAGS = ("input", "select", "textarea", "button")
CSRF = "csrfmiddlewaretoken"


class Forms(HTMLParser):
    """The forms of a page: method, action and the names of their fields."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form":
            self.found.append(
                {
                    "method": (named.get("method") or "get").lower(),
                    "action": named.get("action") or "",
                    "fields": set(),
                }
            )
        elif tag in FIELD_TAGS and self.found and named.get("name") not in (None, CSRF):
            self.found[-1]["fields"].add(named["name"])


def forms_of(html: str, url: str) -> list[dict]:
    parser = Forms()
    parser.feed(html)
    for form in parser.found:
        form["action"] = form["action"] or url
    return [f for f in parser.found if not f["action"].startswith(NOT_FUZZED)]


def persona_for(name: str) -> str:
    row = MATRIX[name]["GET"]
    seeing = [p for p, status in zip(PERSONAS, row, strict=True) if status == 200]
    return next((p for p in PREFERENCE if p in seeing), seeing[0] if seeing else "anonymous")


STAFF_PAGES = [
    name
    for name, methods in MATRIX.items()
    if 200 in methods["GET"] and not name.startswith("web:reg_") and name != "set_language"
]
ROUTES = dict(routes())
# What a page needs to show all its forms: a number to reveal, an invitation to withdraw.
PREPARE = {
    "web:person": lambda w: w.stored,
    "web:collection": lambda w: w.invitation,
    "web:dashboard": lambda w: w.invitation,
    "web:disposal": lambda w: w.leaver,  # someone due: the proposal form is shown
    "web:disposal_certificate": lambda w: w.dispose(),
    "web:disposal_person_certificate": lambda w: w.dispose(),
}


def fuzz(client: Client, url: str, query: list[str], forms: list[dict], examples: int) -> None:
    """Each of ``FIXED`` in every query parameter and form field, then ``examples`` rounds of
    random values in each."""

    def send(values) -> None:
        if query:
            response = client.get(url, {name: values(name) for name in query})
            assert response.status_code < 500, (url, "GET", response.status_code)
        for form in forms:
            method = client.get if form["method"] == "get" else client.post
            response = method(form["action"], {name: values(name) for name in form["fields"]})
            assert response.status_code < 500, (
                form["action"],
                form["method"],
                response.status_code,
            )

    for value in FIXED:
        send(lambda _name, value=value: value)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def run(data):
        send(lambda _name: data.draw(NASTY))

    run()


@pytest.fixture
def world(personas, make_number) -> World:
    return World(personas, make_number)


@pytest.fixture
def generous_rate_limits(monkeypatch):
    """The registration pages' own rate limits would answer 429 before the fuzzing is done."""
    for name in ("PER_ADDRESS", "PER_INVITATION", "UNKNOWN_LINKS_PER_ADDRESS"):
        monkeypatch.setattr(ratelimit, name, (100_000, 600))


@pytest.mark.parametrize("name", STAFF_PAGES)
def test_no_input_to_a_staff_page_makes_a_server_error(world, personas, name, generous_rate_limits):
    world.person  # someone to search for: SQLite never runs a LIKE over an empty table
    PREPARE.get(name, lambda w: None)(world)
    url = world.url(name, ROUTES[name])
    client = client_of(personas, persona_for(name))
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    html = page.content.decode() if page["Content-Type"].startswith("text/html") else ""
    forms = forms_of(html, url)
    query = sorted(
        set(QUERY_PARAMETERS.get(name, ["q"]))
        | {
            f
            for form in forms
            if form["method"] == "get" and urlsplit(form["action"]).path == urlsplit(url).path
            for f in form["fields"]
        }
    )
    fuzz(client, url, query, forms, examples=8)


@pytest.mark.parametrize("name", REGISTRATION)
def test_no_input_to_a_registration_page_makes_a_server_error(world, name, generous_rate_limits):
    walker = Walker(world.invitation[1])
    if name in ("web:reg_start", "web:reg_code"):
        walker.open()  # the identity check is what is fuzzed
    else:
        walker.acknowledge()
    url = reverse(name)
    page = walker.client.get(url)
    assert page.status_code < 500
    forms = forms_of(page.content.decode(), url) if page.status_code == 200 else []
    if name == "web:reg_documents":
        walker.client.post(url, {"combination": "card"})
        forms = forms_of(walker.client.get(url).content.decode(), url)
    fuzz(walker.client, url, QUERY_PARAMETERS.get(name, ["q"]), forms, examples=8)


def test_no_input_to_a_registration_link_makes_a_server_error(world, generous_rate_limits):
    client = Client()
    url = reverse("web:reg_open", args=[world.invitation[1]])
    fuzz(client, url, ["q", "token"], [], examples=8)


def test_every_query_parameter_the_views_read_is_fuzzed():
    read = set()
    for source in VIEWS.glob("*.py"):
        read |= set(re.findall(r"request\.GET\.get\(\s*[\"'](\w+)[\"']", source.read_text()))
    listed = {p for params in QUERY_PARAMETERS.values() for p in params}
    assert read <= listed, f"query parameters read but not fuzzed: {sorted(read - listed)}"


def test_a_100000_character_people_search_is_a_clear_refusal(personas, employee, signed_in):
    client = signed_in(personas.handler)
    url = reverse("web:people", args=[personas.company.pk])
    long = client.get(url, {"q": "山" * 100_000})
    assert long.status_code == 400
    text = long.content.decode()
    assert "too long" in text or "長すぎ" in text
    medium = client.get(url, {"q": "山" * 101}, follow=True)
    assert medium.status_code == 200
    assert (
        "at most 100 characters" in medium.content.decode() or "100文字" in medium.content.decode()
    )


def test_a_nul_byte_in_a_query_is_refused_with_400(personas, employee, signed_in):
    client = signed_in(personas.handler)
    url = reverse("web:people", args=[personas.company.pk])
    assert client.get(url, {"q": "山\x00田"}).status_code == 400
