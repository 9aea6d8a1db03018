"""The memory-only upload handler, through Django's own multipart parsing: requests are built
with RequestFactory and their FILES read exactly as a view would read them, under the project's
real FILE_UPLOAD_HANDLERS."""

from __future__ import annotations

import builtins
import io
import os
import tempfile
from typing import cast

import pytest
from django.conf import settings as django_settings
from django.core.files import temp as django_temp
from django.core.files.uploadedfile import InMemoryUploadedFile, SimpleUploadedFile
from django.test import RequestFactory
from PIL import Image

from mnvault.collection.document_files import clean_document
from mnvault.collection.upload_handler import REQUEST_LIMIT_FILES, UploadRequest

MIB = 1024 * 1024


def post(*fields: tuple[str, bytes | str]) -> UploadRequest:
    """A multipart POST, fields in this order: bytes become uploaded files, str plain fields.
    The handler marks it once its FILES or POST are read."""
    data = {
        name: SimpleUploadedFile(f"{name}.jpg", value, "image/jpeg")
        if isinstance(value, bytes)
        else value
        for name, value in fields
    }
    return cast(UploadRequest, RequestFactory().post("/upload/", data))


def forbid_disk_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any temporary file, or any file opened for writing, fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("an upload was written to disk")

    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            refuse()
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse()
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(django_temp, "NamedTemporaryFile", refuse)
    for name in ("NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)


def test_settings_use_only_the_memory_handler():
    assert django_settings.FILE_UPLOAD_HANDLERS == [
        "mnvault.collection.upload_handler.MemoryOnlyUploadHandler"
    ]


def test_big_file_never_touches_the_disk(settings, monkeypatch):
    # Four times Django's own limit for keeping an upload in memory (2.5 MB).
    settings.MNVAULT_MAX_DOCUMENT_MB = 12
    big = os.urandom(10 * MIB)
    assert len(big) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    request = post(("document", big))
    forbid_disk_writes(monkeypatch)

    upload = request.FILES["document"]

    assert isinstance(upload, InMemoryUploadedFile)
    assert upload.read() == big
    assert request.too_large_uploads == set()


def test_file_over_the_limit_is_left_out_and_named(settings):
    settings.MNVAULT_MAX_DOCUMENT_MB = 1
    request = post(("front", b"x" * (MIB + 1)), ("back", b"small"), ("note", "kept"))

    assert "front" not in request.FILES
    (back,) = request.FILES.getlist("back")
    assert back.read() == b"small"
    assert request.POST["note"] == "kept"
    assert request.too_large_uploads == {"front"}
    assert request.too_large_request is False


def test_file_at_the_limit_is_kept(settings):
    settings.MNVAULT_MAX_DOCUMENT_MB = 1
    request = post(("front", b"x" * MIB))

    (front,) = request.FILES.getlist("front")
    assert front.size == MIB
    assert request.too_large_uploads == set()


def test_request_over_its_limit_stops_the_upload(settings):
    settings.MNVAULT_MAX_DOCUMENT_MB = 1
    fields = [(f"page{i}", b"x" * MIB) for i in range(REQUEST_LIMIT_FILES + 2)]
    request = post(*fields)

    assert sorted(request.FILES) == [f"page{i}" for i in range(REQUEST_LIMIT_FILES)]
    assert request.too_large_request is True
    assert request.too_large_uploads == {f"page{REQUEST_LIMIT_FILES}"}


def test_request_at_its_limit_is_kept(settings):
    settings.MNVAULT_MAX_DOCUMENT_MB = 1
    fields = [(f"page{i}", b"x" * MIB) for i in range(REQUEST_LIMIT_FILES)]
    request = post(*fields)

    assert len(request.FILES) == REQUEST_LIMIT_FILES
    assert request.too_large_request is False


def test_form_without_files_has_nothing_too_large():
    request = post(("note", "hello"))

    assert request.POST["note"] == "hello"
    assert request.too_large_uploads == set()
    assert request.too_large_request is False


def test_uploaded_photo_can_be_cleaned(monkeypatch):
    photo = io.BytesIO()
    Image.new("RGB", (30, 20), "white").save(photo, format="JPEG")
    request = post(("document", photo.getvalue()))
    forbid_disk_writes(monkeypatch)

    (document,) = request.FILES.getlist("document")
    clean = clean_document(document.read())

    assert (clean.content_type, clean.width, clean.height) == ("image/jpeg", 30, 20)


def test_a_later_handler_never_starts_a_file_on_disk(settings, monkeypatch):
    settings.FILE_UPLOAD_HANDLERS = [
        "mnvault.collection.upload_handler.MemoryOnlyUploadHandler",
        "django.core.files.uploadhandler.TemporaryFileUploadHandler",
    ]
    request = post(("document", b"x" * MIB))
    forbid_disk_writes(monkeypatch)

    assert isinstance(request.FILES["document"], InMemoryUploadedFile)
