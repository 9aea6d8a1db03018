"""Request bodies under ``mnvault serve``: a photo of an identity document must never be
spooled to a temporary file by waitress before mnvault encrypts it."""

from __future__ import annotations

import tempfile

import pytest
from waitress.adjustments import Adjustments
from waitress.parser import HTTPRequestParser

from mnvault.cli.management.commands.serve import body_options
from mnvault.collection.document_files import max_document_bytes


def parse(body: bytes) -> HTTPRequestParser:
    parser = HTTPRequestParser(Adjustments(**body_options()))
    head = f"POST /register/documents HTTP/1.1\r\nContent-Length: {len(body)}\r\n\r\n"
    data = head.encode() + body
    while data and not parser.completed:
        data = data[parser.received(data) :]
    return parser


def test_a_body_of_the_document_limit_stays_in_memory(monkeypatch):
    def no_disk(*args, **kwargs):
        raise AssertionError("waitress spooled the body to a temporary file")

    monkeypatch.setattr(tempfile, "TemporaryFile", no_disk)
    parser = parse(b"x" * (max_document_bytes() + 1000))
    assert parser.completed and not parser.error


def test_with_waitress_defaults_the_same_body_would_reach_the_disk(monkeypatch):
    spooled = []
    real = tempfile.TemporaryFile

    def spy(*args, **kwargs):
        spooled.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", spy)
    parser = HTTPRequestParser(Adjustments())
    body = b"x" * (2 * 2**20)
    data = f"POST / HTTP/1.1\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    while data and not parser.completed:
        data = data[parser.received(data) :]
    assert spooled


def test_a_body_far_over_the_limit_is_refused(settings):
    settings.MNVAULT_MAX_DOCUMENT_MB = 1
    parser = parse(b"x" * (4 * 2**20))
    assert parser.error is not None


@pytest.mark.parametrize("mb", [1, 10, 30])
def test_the_limits_follow_the_document_setting(settings, mb):
    settings.MNVAULT_MAX_DOCUMENT_MB = mb
    options = body_options()
    assert options["inbuf_overflow"] == options["max_request_body_size"] > 2 * mb * 2**20
