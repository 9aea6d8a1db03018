"""Cleaning of uploaded identity-document files (photos of a My Number card, a driver's licence,
or a PDF scan), entirely in memory.

A phone photo carries far more than the document: GPS coordinates of the person's home, the
device, the time, sometimes a thumbnail of the uncropped picture. A PDF can carry its author, an
XMP packet, and scripts that run when it is opened. None of that is needed to check an identity,
so every file is decoded and rebuilt from its pixels or pages alone before it is encrypted.

The kind of file is told from its content, never from its name or the browser's content type,
both of which the sender controls. Nothing is ever written to disk, not even a temporary file:
the clear document must exist only in this process's memory until the vault seals it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy
from PIL import Image, ImageOps
from pillow_heif import register_heif_opener
from pypdf import PdfReader, PdfWriter

# Once, at import: Pillow then opens HEIC/HEIF (iPhone photos) like any other image.
register_heif_opener()

DEFAULT_MAX_DOCUMENT_MB = 10
MAX_PIXELS = 40_000_000  # a 48 MP phone sensor bins to 12 MP; 40 MP is generous, not a bomb
MAX_PDF_PAGES = 10
JPEG_QUALITY = 88

RefusalCode = Literal[
    "too_large",
    "not_a_document",
    "unreadable",
    "too_many_pixels",
    "encrypted_pdf",
    "too_many_pages",
    "empty",
]

# English msgids, lazy: translated when a message is shown, in the language of that request.
_MESSAGES: dict[str, Promise] = {
    "too_large": gettext_lazy("The file is larger than %(mb)s MB."),
    "not_a_document": gettext_lazy("This file is not a photo (JPEG, PNG, HEIC) or a PDF."),
    "unreadable": gettext_lazy("This file is damaged or incomplete and cannot be read."),
    "too_many_pixels": gettext_lazy("This image has too many pixels. Please send a smaller photo."),
    "encrypted_pdf": gettext_lazy(
        "This PDF is protected by a password. Please send it without a password."
    ),
    "too_many_pages": gettext_lazy("This PDF has more than %(pages)s pages."),
    "empty": gettext_lazy("The file is empty."),
}

# Pillow format name, format written back, content type of the cleaned file.
_IMAGE_OUTPUT = {
    "JPEG": ("JPEG", "image/jpeg"),
    "PNG": ("PNG", "image/png"),
    "HEIF": ("JPEG", "image/jpeg"),  # browsers and PDF tools rarely show HEIC; JPEG they all do
}
# Major brands of HEIF files holding HEVC images (iPhones write "heic").
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
# Page entries that are not the page's look: actions, annotations (links can run scripts,
# comments name their author), XMP, application data, thumbnails, article beads.
_PDF_PAGE_KEYS_DROPPED = ("/AA", "/Annots", "/Metadata", "/PieceInfo", "/Thumb", "/B")


@dataclass(frozen=True)
class CleanDocument:
    """A file rebuilt without metadata, ready to be encrypted; its size for display."""

    content: bytes
    content_type: str
    width: int | None
    height: int | None
    pages: int | None


class DocumentRefused(Exception):
    """Why an uploaded file was refused: ``code`` for programs, ``message`` for the person."""

    def __init__(self, code: RefusalCode) -> None:
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        """Translated when read, so it follows the language of the request that shows it."""
        params = {"mb": max_document_bytes() // 2**20, "pages": MAX_PDF_PAGES}
        return str(_MESSAGES[self.code]) % params


def max_document_bytes() -> int:
    """The largest file accepted (MNVAULT_MAX_DOCUMENT_MB, in MiB): read on each call so that
    a changed setting applies at once."""
    mb = int(getattr(settings, "MNVAULT_MAX_DOCUMENT_MB", DEFAULT_MAX_DOCUMENT_MB))
    return mb * 2**20


def clean_document(data: bytes) -> CleanDocument:
    """The uploaded ``data`` rebuilt without any metadata, or DocumentRefused saying why not."""
    if len(data) > max_document_bytes():  # before any decoding: a large file costs nothing
        raise DocumentRefused("too_large")
    if not data:
        raise DocumentRefused("empty")
    kind = _detect(data)
    if kind is None:
        raise DocumentRefused("not_a_document")
    if kind == "PDF":
        return _clean_pdf(data)
    return _clean_image(data, kind)


def _detect(data: bytes) -> str | None:
    """The kind named by the file's magic bytes; the decoder then confirms it."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    if data.startswith(b"%PDF-"):
        return "PDF"
    return None


@contextmanager
def _refusing_unreadable() -> Iterator[None]:
    """Turn any decoder failure into a refusal: a hostile or damaged file can make Pillow or
    pypdf raise nearly any exception, and the person deserves a message, not a server error."""
    try:
        yield
    except DocumentRefused:
        raise
    except Image.DecompressionBombError as error:
        raise DocumentRefused("too_many_pixels") from error
    except Exception as error:
        raise DocumentRefused("unreadable") from error


def _clean_image(data: bytes, kind: str) -> CleanDocument:
    output_format, content_type = _IMAGE_OUTPUT[kind]
    with _refusing_unreadable():
        image: Image.Image = Image.open(io.BytesIO(data), formats=[kind])
        if image.width * image.height > MAX_PIXELS:  # from the header, before decoding
            raise DocumentRefused("too_many_pixels")
        image.load()
        image = ImageOps.exif_transpose(image)  # pixels upright: the tag itself is dropped
        clean = _pixels_only(image, output_format)
        out = io.BytesIO()
        if output_format == "JPEG":
            clean.save(out, format="JPEG", quality=JPEG_QUALITY)
        else:
            clean.save(out, format="PNG")
    return CleanDocument(out.getvalue(), content_type, clean.width, clean.height, None)


def _pixels_only(image: Image.Image, output_format: str) -> Image.Image:
    """A new image holding nothing but the pixels: Pillow carries comments, ICC profiles and
    more over from ``image.info`` when it saves, so the source image is never saved itself."""
    mode = _output_mode(image, output_format)
    converted = image if image.mode == mode else image.convert(mode)
    clean = Image.new(mode, converted.size)
    clean.paste(converted)
    return clean


def _output_mode(image: Image.Image, output_format: str) -> str:
    """Grey stays grey, transparency survives in a PNG, everything else becomes RGB."""
    if output_format == "PNG" and image.has_transparency_data:
        return "RGBA"
    if image.mode in ("1", "L", "LA", "I", "I;16", "F"):
        return "L"
    return "RGB"


def _clean_pdf(data: bytes) -> CleanDocument:
    with _refusing_unreadable():
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    if encrypted:  # its pages cannot be read without the password, nor checked
        raise DocumentRefused("encrypted_pdf")
    with _refusing_unreadable():
        pages = len(reader.pages)
    if pages > MAX_PDF_PAGES:
        raise DocumentRefused("too_many_pages")
    if pages == 0:
        raise DocumentRefused("unreadable")
    with _refusing_unreadable():
        content = _rebuild_pdf(reader)
    return CleanDocument(content, "application/pdf", None, None, pages)


def _rebuild_pdf(reader: PdfReader) -> bytes:
    """A new PDF with the pages alone. Its catalog is new, so the source's document-level
    actions (/OpenAction, /AA), /Names (JavaScript, embedded files) and XMP /Metadata are never
    copied; the dropped page keys are not even cloned, and the /Info dictionary is removed."""
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page, excluded_keys=_PDF_PAGE_KEYS_DROPPED)
    writer.metadata = None
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
