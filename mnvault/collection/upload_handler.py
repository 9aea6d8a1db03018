"""An upload handler that keeps uploaded files in memory only.

Django's default handlers write any upload larger than FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) to
a temporary file: a photo of someone's My Number card, in clear, on the server's disk, where a
crash, a backup or a forensic look can find it long after the request. Here every file stays
in memory, whatever its size, and a file over the per-file limit is dropped while it streams,
so that memory stays bounded: at most the per-file limit per file and REQUEST_LIMIT_FILES times
it per request.

After ``request.FILES`` (or ``request.POST``) has been read, ``request.too_large_uploads`` holds
the names of the fields whose file was over the limit (such a file is missing from FILES), and
``request.too_large_request`` is True when the whole request was over its limit (parsing
stopped there: the file under way and any after it are missing).
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import (
    FileUploadHandler,
    SkipFile,
    StopFutureHandlers,
    StopUpload,
)
from django.http import HttpRequest

from mnvault.collection.document_files import max_document_bytes

REQUEST_LIMIT_FILES = 6  # the whole request may carry six files of the largest size


class UploadRequest(HttpRequest):
    """A request whose files the handler below has read."""

    too_large_uploads: set[str]
    too_large_request: bool


class MemoryOnlyUploadHandler(FileUploadHandler):
    """Keeps each uploaded file in a BytesIO, never on disk; drops files over the limit."""

    request: UploadRequest | None  # given its two attributes right away

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.file = BytesIO()
        self.request_bytes = 0
        if self.request is not None:
            self.request.too_large_uploads = set()
            self.request.too_large_request = False

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        """Start a file in memory, and stop any later handler from starting one on disk."""
        super().new_file(*args, **kwargs)
        self.file = BytesIO()
        raise StopFutureHandlers

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        """Keep the chunk, unless the file or the request has grown past its limit."""
        limit = max_document_bytes()
        self.request_bytes += len(raw_data)
        if self.request_bytes > limit * REQUEST_LIMIT_FILES:
            self._mark_too_large()
            if self.request is not None:
                self.request.too_large_request = True
            raise StopUpload(connection_reset=False)  # read the rest, so the reply can be seen
        if start + len(raw_data) > limit:
            self._mark_too_large()
            raise SkipFile
        self.file.write(raw_data)

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        self.file.seek(0)
        return InMemoryUploadedFile(
            file=self.file,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )

    def upload_interrupted(self) -> None:
        """The request ended inside a file: free what was kept of it."""
        self.file.close()

    def _mark_too_large(self) -> None:
        """Record the field for the view, and free the file's bytes at once."""
        if self.request is not None:
            self.request.too_large_uploads.add(self.field_name)
        self.file.close()
