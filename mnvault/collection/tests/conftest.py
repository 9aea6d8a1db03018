"""Fixtures of collection tests: an invited employee (birth date and e-mail on file), the
link from the invitation e-mail, photos made on the fly, and a browser-less walk through the
registration pages."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import TYPE_CHECKING

import pytest
from django.core import mail
from django.test import Client

from mnvault.audit.tests.test_concurrency import database_url, installation  # noqa: F401
from mnvault.collection import invitations
from mnvault.collection.models import Invitation
from mnvault.conftest import make_person

if TYPE_CHECKING:
    # What the test client returns (an HttpResponseBase with the client's additions).
    from django.test.client import _MonkeyPatchedWSGIResponse

BIRTH_DATE = date(1990, 4, 1)
LINK = re.compile(r"https?://[^\s]+/r/([A-Za-z0-9_\-]+)")


def jpeg(size=(640, 400), color=(200, 180, 160)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def upload(name: str, content: bytes, content_type: str = "image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def token_from_mail(message) -> str:
    found = LINK.search(message.body)
    assert found, "no registration link in the e-mail"
    return found.group(1)


@pytest.fixture
def invitee(personas):
    return make_person(
        personas.company,
        birth_date=BIRTH_DATE,
        email="taro@example.test",
        employee_code="E100",
    )


@pytest.fixture
def payee(personas):
    return make_person(
        personas.company,
        kind="payee",
        family_name="佐藤",
        given_name="花子",
        birth_date=date(1985, 12, 24),
        email="hanako@example.test",
    )


def invite_by_email(user, person) -> tuple[Invitation, str]:
    result = invitations.invite(
        acting_user=user, company=person.company, people=[person], delivery="email"
    )
    assert len(result.sent) == 1, result
    return result.sent[0], token_from_mail(mail.outbox[-1])


@pytest.fixture
def invited(personas, invitee) -> tuple[Invitation, str]:
    return invite_by_email(personas.staff, invitee)


class Walker:
    """Drives the registration pages as a phone would, one step at a time."""

    def __init__(self, token: str, birth_date: date = BIRTH_DATE) -> None:
        self.client = Client()
        self.token = token
        self.birth_date = birth_date
        self.responses: list[_MonkeyPatchedWSGIResponse] = []

    def get(self, url: str):
        response = self.client.get(url)
        self.responses.append(response)
        return response

    def post(self, url: str, data: dict):
        response = self.client.post(url, data)
        self.responses.append(response)
        return response

    def open(self):
        return self.get(f"/r/{self.token}")

    def verify(self):
        self.open()
        return self.post("/register/", {"birth_date": self.birth_date.isoformat()})

    def acknowledge(self):
        self.verify()
        return self.post("/register/purposes", {"acknowledged": "on"})

    def enter_number(self, number: str):
        self.acknowledge()
        return self.post("/register/number", {"number": number})

    def upload(self, kind: str, content: bytes, name: str = "photo.jpg", combination="card"):
        self.post("/register/documents", {"combination": combination})
        return self.post("/register/documents", {"kind": kind, "file": upload(name, content)})

    def add_dependent(self, number: str, **fields):
        data = {
            "family_name": "山田",
            "given_name": "花子",
            "family_name_kana": "ヤマダ",
            "given_name_kana": "ハナコ",
            "relationship": "child",
            "birth_date": "2015-05-05",
            "number": number,
            **fields,
        }
        return self.post("/register/dependents", data)

    def confirm(self, attested: bool = True):
        return self.post("/register/confirm", {"attested": "on"} if attested else {})

    def register(self, number: str, dependents=(), card=True):
        self.enter_number(number)
        self.upload("my_number_card", jpeg(), "front.jpg")
        self.upload("my_number_card", jpeg(color=(10, 20, 30)), "back.jpg")
        for dependent in dependents:
            self.add_dependent(dependent)
        return self.confirm(attested=bool(dependents))


@pytest.fixture
def walker(invited) -> Walker:
    return Walker(invited[1])
