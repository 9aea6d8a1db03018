"""The canary crawl: with known numbers stored in two companies, sign in as each persona and
follow every link reachable; no response body or header may hold any stored number, and no
page reached by one company's users may be reachable by the other company's."""

from __future__ import annotations

import io
import re
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import pytest
from django.http import HttpResponse
from pypdf import PdfReader

from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.scheduler import tasks
from mnvault.usage import runs
from mnvault.usage.tests.factory import Staff, csv_bytes, unified_row
from mnvault.vault.services import Verification, store_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
PERSONAS = [
    "company_admin",
    "responsible_manager",
    "handler",
    "auditor",
    "staff",
    "installation_admin",
    "no_role",
]
RUN_YEAR = 2025
LINK = re.compile(r"""href="([^"#]+)""")
NOT_FOLLOWED = ("/logout", "/static/", "data:")


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """The document runs' files land in this test's own data directory."""
    monkeypatch.setenv("MNVAULT_DATA_DIR", str(tmp_path))


def produce_run(company, handler, employee) -> None:
    """A produced 源泉徴収票 run carrying the employee's and the dependent's numbers, so that
    the documents pages and the person page's list of documents are crawled too."""
    data = csv_bytes([unified_row(RUN_YEAR, Staff(employee))])
    run = runs.prepare_run(
        acting_user=handler, company=company, kind="withholding", year=RUN_YEAR, data=data
    )
    runs.start_production(acting_user=handler, run=run)
    tasks.run_pending()


@pytest.fixture
def canaries(personas, make_number) -> list[str]:
    """Numbers stored for people of both companies (and a dependent and a payee), the
    employee's carried by a produced document run."""
    found = []
    for company, handler in (
        (personas.company, personas.handler),
        (personas.other_company, personas.other_handler),
    ):
        employee = make_person(company, employee_code=f"C{company.pk}", birth_date=date(1980, 2, 3))
        people = [
            employee,
            make_person(company, kind="dependent", employee=employee, relationship="child"),
            make_person(company, kind="payee"),
        ]
        for person in people:
            number = make_number()
            store_number(
                acting_user=handler,
                person=person,
                number=number,
                purposes=["withholding"],
                verification=Verification(channel="in_person"),
            )
            found.append(number)
        produce_run(company, handler, employee)
    return found


def forms_of(number: str) -> list[str]:
    grouped = [number[:4], number[4:8], number[8:]]
    full = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return [number, " ".join(grouped), "-".join(grouped), full]


class Response(Protocol):
    """What the crawl and the check read of a response: a test client's, or any HttpResponse."""

    status_code: int

    @property
    def content(self) -> bytes: ...
    def items(self) -> Iterable[tuple[str, str]]: ...


def crawl(client) -> dict[str, Response]:
    """Every page reachable from the home page by links, with its response."""
    seen: dict[str, Response] = {}
    queue = deque(["/"])
    while queue:
        url = queue.popleft()
        if url in seen or any(url.startswith(p) for p in NOT_FOLLOWED):
            continue
        response = client.get(url)
        if response.streaming:  # an export (CSV): read whole, checked like a page
            response = HttpResponse(
                b"".join(response.streaming_content),
                status=response.status_code,
                headers=dict(response.items()),
            )
        seen[url] = response
        if response.status_code in (301, 302):
            queue.append(urljoin(url, response["Location"]))
            continue
        if not dict(response.items()).get("Content-Type", "").startswith("text/html"):
            continue  # a download (the disposal certificate): read as text, links not followed
        for href in LINK.findall(response.content.decode()):
            target = urljoin(url, href.replace("&amp;", "&"))
            if not urlsplit(target).netloc:
                queue.append(target)
    return seen


def text_of(response: Response) -> str:
    headers = dict(response.items())
    if headers.get("Content-Type", "") == "application/pdf":
        pages = PdfReader(io.BytesIO(response.content)).pages
        return "".join(page.extract_text() for page in pages) + str(headers)
    return response.content.decode() + str(headers)


def assert_no_canary(seen: Mapping[str, Response], canaries: list[str]) -> None:
    for url, response in seen.items():
        text = text_of(response)
        for number in canaries:
            for form in forms_of(number):
                assert form not in text, f"a stored number appears at {url}"


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_page_reachable_by_a_role_shows_a_number(signed_in, personas, canaries, persona):
    seen = crawl(signed_in(getattr(personas, persona)))
    assert seen["/"].status_code == 200
    assert_no_canary(seen, canaries)


def test_the_crawl_reaches_people_pages(signed_in, personas, canaries):
    seen = crawl(signed_in(personas.handler))
    assert any(re.search(r"/c/\d+/people/\d+/$", url) for url in seen), sorted(seen)


def test_the_crawl_reaches_the_documents_pages(signed_in, personas, canaries):
    for persona in ("handler", "staff"):
        seen = crawl(signed_in(getattr(personas, persona)))
        assert any(re.search(r"/c/\d+/documents/$", url) for url in seen), sorted(seen)
        assert any(re.search(r"/c/\d+/documents/\d+/$", url) for url in seen), sorted(seen)
        assert any(url.endswith("/documents/ledger.csv") for url in seen), sorted(seen)


@pytest.fixture
def disposals(personas, make_number, canaries) -> list[str]:
    """More canaries in the disposal pages: a leaver disposed of (a done batch with its
    certificate), one in a batch awaiting approval, and one due in the queue."""
    from datetime import date

    from mnvault.retention import services

    found, leavers = [], []
    for code in ("L1", "L2", "L3"):
        person = make_person(
            personas.company,
            employee_code=code,
            hire_date=date(2010, 4, 1),
            leave_date=date(2015, 3, 31),
        )
        found.append(make_number())
        store_number(
            acting_user=personas.handler,
            person=person,
            number=found[-1],
            purposes=["withholding"],
            verification=Verification(channel="in_person"),
        )
        leavers.append(person)
    done = services.propose(
        acting_user=personas.handler, company=personas.company, people=leavers[:1]
    )
    services.approve(acting_user=personas.responsible_manager, batch=done)
    services.propose(acting_user=personas.handler, company=personas.company, people=leavers[1:2])
    return canaries + found


@pytest.mark.parametrize("persona", ["handler", "auditor", "responsible_manager"])
def test_the_disposal_pages_show_no_number(signed_in, personas, disposals, persona):
    seen = crawl(signed_in(getattr(personas, persona)))
    reached = {re.sub(r"\d+", "N", url.split("?")[0]) for url in seen}
    assert {
        "/c/N/disposal/",
        "/c/N/disposal/N/",
        "/c/N/disposal/N/certificate.pdf",
        "/c/N/people/N/",
    } <= reached, sorted(reached)
    assert_no_canary(seen, disposals)


def test_the_canary_check_can_fail():
    with pytest.raises(AssertionError):
        assert_no_canary({"/x": HttpResponse(b"<p>0000 0000 0000</p>")}, ["000000000000"])


def test_the_canary_check_reads_a_pdf():
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out)
    canvas.drawString(72, 720, "0000 0000 0000")
    canvas.save()
    pdf = HttpResponse(out.getvalue(), content_type="application/pdf")
    with pytest.raises(AssertionError):
        assert_no_canary({"/x.pdf": pdf}, ["000000000000"])


def test_pages_of_one_company_are_unreachable_for_the_other(signed_in, personas, canaries):
    from django.test import Client

    ours = [url for url in crawl(signed_in(personas.handler)) if url.startswith("/c/")]
    assert ours
    outsider = signed_in(personas.other_handler)
    for url in ours:
        assert outsider.get(url).status_code == 404, url
    assert Client().get(ours[0]).status_code == 302  # anonymous: to the sign-in page
