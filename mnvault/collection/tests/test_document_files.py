"""Cleaning of uploaded identity documents: every fixture file is built here, with the
metadata a phone or a PDF tool would leave, and the cleaned output is opened again to prove
that the metadata is gone and the document is still there."""

from __future__ import annotations

import builtins
import io
import os
import random
import struct
import zipfile
import zlib
from typing import get_args

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import ExifTags, Image, PngImagePlugin
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from mnvault.collection import document_files
from mnvault.collection.document_files import (
    CleanDocument,
    DocumentRefused,
    clean_document,
    max_document_bytes,
)

RED, BLUE = (255, 0, 0), (0, 0, 255)
# Segments a cleaned JPEG may have before its scan: no APP1 (EXIF, XMP), APP2 (ICC), COM...
PLAIN_JPEG_MARKERS = {0xD8, 0xE0, 0xDB, 0xC0, 0xC2, 0xC4, 0xDD, 0xDA}
PLAIN_PNG_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
PDF_SECRETS = [
    b"Yamada Taro",
    b"XmpSecret",
    b"OpenActionScript",
    b"NamesScript",
    b"PageActionScript",
    b"LinkScript",
]


# --- fixture files --------------------------------------------------------------------------


def phone_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: the maker, an orientation, and where the photo was taken."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (35.0, 41.0, 22.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (139.0, 41.0, 30.0)
    return exif


def two_tone(size: tuple[int, int] = (60, 40)) -> Image.Image:
    """Red on top, blue below: where the red ends up tells how the image was turned."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0], size[1] // 2))
    return image


def encode(image: Image.Image, image_format: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=image_format, **params)
    return out.getvalue()


def with_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """The JPEG with one more segment right after SOI (XMP, a comment...)."""
    segment = bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def phone_jpeg(orientation: int = 1) -> bytes:
    jpeg = encode(two_tone(), "JPEG", exif=phone_exif(orientation))
    jpeg = with_segment(jpeg, 0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>XmpSecret")
    return with_segment(jpeg, 0xFE, b"Yamada Taro")


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Yamada Taro")
    info.add_itxt("Description", "XmpSecret")
    return encode(two_tone(), "PNG", pnginfo=info, exif=phone_exif())


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that announces its size and holds no pixels: decoding it would fail."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def noise_jpeg() -> bytes:
    pixels = random.Random(7).randbytes(200 * 200 * 3)
    return encode(Image.frombytes("RGB", (200, 200), pixels), "JPEG")


def js_action(script: str) -> DictionaryObject:
    return DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject(script)}
    )


def text_page(writer: PdfWriter, width: int, label: str) -> PageObject:
    page = writer.add_blank_page(width, 300)
    content = DecodedStreamObject()
    content.set_data(f"BT 10 10 Td ({label}) Tj ET".encode())
    page[NameObject("/Contents")] = writer._add_object(content)
    return page


def pdf_bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_metadata_and_scripts() -> bytes:
    """A PDF as a careless tool leaves it: author, XMP, scripts at opening, on the page, on a
    link, and in the document's names."""
    writer = PdfWriter()
    page = text_page(writer, 200, "page one")
    text_page(writer, 250, "page two")
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): js_action("PageActionScript")})
    link = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([NumberObject(n) for n in (0, 0, 50, 50)]),
            NameObject("/A"): js_action("LinkScript"),
        }
    )
    page[NameObject("/Annots")] = ArrayObject([writer._add_object(link)])
    writer.add_metadata({"/Author": "Yamada Taro", "/Title": "My Number card"})
    xmp = DecodedStreamObject()
    xmp.set_data(b"<x:xmpmeta>XmpSecret</x:xmpmeta>")
    xmp[NameObject("/Type")] = NameObject("/Metadata")
    writer._root_object[NameObject("/Metadata")] = writer._add_object(xmp)
    writer._root_object[NameObject("/OpenAction")] = js_action("OpenActionScript")
    scripts = ArrayObject([TextStringObject("js0"), writer._add_object(js_action("NamesScript"))])
    names = DictionaryObject({NameObject("/Names"): scripts})
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): names})
    return pdf_bytes(writer)


def blank_pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(100, 100)
    return pdf_bytes(writer)


# --- inspecting the output ------------------------------------------------------------------


def contents(page: PageObject) -> bytes:
    stream = page.get_contents()
    assert stream is not None
    return stream.get_data()


def jpeg_markers(data: bytes) -> set[int]:
    """Every segment marker up to the scan, read from the bytes, not through Pillow."""
    markers, position = {0xD8}, 2
    while True:
        marker = data[position + 1]
        markers.add(marker)
        if marker == 0xDA:
            return markers
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        position += 2 + length


def png_chunks(data: bytes) -> set[bytes]:
    kinds, position = set(), 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kinds.add(data[position + 4 : position + 8])
        position += 12 + length
    return kinds


def refusal(data: bytes) -> str:
    with pytest.raises(DocumentRefused) as caught:
        clean_document(data)
    return caught.value.code


def forbid_disk_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to create or write a file fails the test (tempfile goes through os.open)."""
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            raise AssertionError(f"wrote to disk: {file}")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise AssertionError(f"wrote to disk: {path}")
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)


# --- photos ---------------------------------------------------------------------------------


def test_jpeg_loses_its_gps_metadata():
    source = phone_jpeg()
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    clean = clean_document(source)

    assert clean.content_type == "image/jpeg"
    cleaned = Image.open(io.BytesIO(clean.content))
    assert cleaned.format == "JPEG"
    assert not cleaned.getexif()
    assert b"PhoneMaker" not in clean.content


def test_jpeg_loses_its_xmp_and_comment():
    clean = clean_document(phone_jpeg())

    assert jpeg_markers(clean.content) <= PLAIN_JPEG_MARKERS
    assert b"XmpSecret" not in clean.content
    assert b"Yamada Taro" not in clean.content
    assert "comment" not in Image.open(io.BytesIO(clean.content)).info


def test_jpeg_orientation_is_applied_to_the_pixels():
    # Orientation 6: the camera was turned; the picture must be rotated 90° clockwise.
    clean = clean_document(phone_jpeg(orientation=6))

    assert (clean.width, clean.height) == (40, 60)
    cleaned = Image.open(io.BytesIO(clean.content)).convert("RGB")
    assert cleaned.size == (40, 60)
    right, left = cleaned.getpixel((35, 30)), cleaned.getpixel((4, 30))
    assert isinstance(right, tuple) and isinstance(left, tuple)
    assert right[0] > 200 > right[2]  # the red top is now on the right
    assert left[2] > 200 > left[0]


def test_png_loses_its_text_chunks():
    source = png_with_text()
    opened = Image.open(io.BytesIO(source))
    assert isinstance(opened, PngImagePlugin.PngImageFile) and opened.text

    clean = clean_document(source)

    assert clean.content_type == "image/png"
    assert png_chunks(clean.content) <= PLAIN_PNG_CHUNKS
    cleaned = Image.open(io.BytesIO(clean.content))
    assert cleaned.format == "PNG"
    assert isinstance(cleaned, PngImagePlugin.PngImageFile)
    assert not cleaned.text
    assert not cleaned.getexif()
    assert (clean.width, clean.height) == (60, 40)


def test_png_keeps_its_transparency():
    image = Image.new("RGBA", (10, 10), (0, 0, 255, 255))
    image.putpixel((0, 0), (0, 0, 0, 0))

    clean = clean_document(encode(image, "PNG"))

    cleaned = Image.open(io.BytesIO(clean.content)).convert("RGBA")
    corner = cleaned.getpixel((0, 0))
    assert isinstance(corner, tuple) and corner[3] == 0
    assert cleaned.getpixel((5, 5)) == (0, 0, 255, 255)


def test_heic_becomes_a_jpeg_without_metadata():
    source = encode(two_tone(), "HEIF", exif=phone_exif().tobytes(), quality=90)
    assert source[4:12] == b"ftypheic"
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    clean = clean_document(source)

    assert clean.content_type == "image/jpeg"
    cleaned = Image.open(io.BytesIO(clean.content))
    assert cleaned.format == "JPEG"
    assert cleaned.size == (60, 40) == (clean.width, clean.height)
    assert not cleaned.getexif()
    assert b"PhoneMaker" not in clean.content
    assert clean.pages is None


def test_image_with_too_many_pixels_is_refused_before_decoding():
    # 8000 × 6000 = 48 MP: over the limit, yet under Pillow's own bomb check. The file holds
    # no pixels, so only a refusal made from the header gives "too_many_pixels".
    assert refusal(png_header_only(8000, 6000)) == "too_many_pixels"


def test_decompression_bomb_is_refused():
    assert refusal(png_header_only(20_000, 20_000)) == "too_many_pixels"


def test_truncated_jpeg_is_refused():
    source = noise_jpeg()
    assert clean_document(source).width == 200

    assert refusal(source[: len(source) // 2]) == "unreadable"


def test_png_signature_before_garbage_is_refused():
    assert refusal(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50) == "unreadable"


# --- PDFs -----------------------------------------------------------------------------------


def test_pdf_loses_its_metadata_and_scripts():
    source = pdf_with_metadata_and_scripts()
    assert all(secret in source for secret in PDF_SECRETS)

    clean = clean_document(source)

    assert clean.content_type == "application/pdf"
    for secret in PDF_SECRETS:
        assert secret not in clean.content, secret
    reader = PdfReader(io.BytesIO(clean.content))
    assert reader.metadata is None
    assert not {"/Metadata", "/OpenAction", "/AA", "/Names"} & set(reader.root_object)
    assert not {"/AA", "/Annots"} & set(reader.pages[0])


def test_pdf_keeps_its_pages():
    source = pdf_with_metadata_and_scripts()

    clean = clean_document(source)

    assert clean.pages == 2
    assert (clean.width, clean.height) == (None, None)
    before, after = PdfReader(io.BytesIO(source)), PdfReader(io.BytesIO(clean.content))
    assert [p.mediabox.width for p in after.pages] == [200, 250]
    for old, new in zip(before.pages, after.pages, strict=True):
        assert contents(new) == contents(old)


def test_encrypted_pdf_is_refused():
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.encrypt("password")

    assert refusal(pdf_bytes(writer)) == "encrypted_pdf"


def test_pdf_of_eleven_pages_is_refused():
    assert refusal(blank_pdf(11)) == "too_many_pages"


def test_pdf_of_ten_pages_is_accepted():
    assert clean_document(blank_pdf(10)).pages == 10


def test_pdf_signature_before_garbage_is_refused():
    assert refusal(b"%PDF-1.7\n" + b"garbage" * 50) == "unreadable"


# --- anything else --------------------------------------------------------------------------


def test_text_file_named_jpg_is_refused():
    upload = SimpleUploadedFile("card.jpg", b"My Number 1234", content_type="image/jpeg")

    assert refusal(upload.read()) == "not_a_document"


def test_gif_is_refused():
    assert refusal(encode(two_tone(), "GIF")) == "not_a_document"


def test_zip_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("card.jpg", phone_jpeg())

    assert refusal(out.getvalue()) == "not_a_document"


def test_program_renamed_jpg_is_refused():
    assert refusal(b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200)) == "not_a_document"


def test_random_bytes_are_refused():
    assert refusal(random.Random(3).randbytes(4096)) == "not_a_document"


def test_empty_file_is_refused():
    assert refusal(b"") == "empty"


# --- size -----------------------------------------------------------------------------------


def test_size_limit_comes_from_the_settings(settings):
    settings.MNVAULT_MAX_DOCUMENT_MB = 3

    assert max_document_bytes() == 3 * 1024 * 1024


def test_file_over_the_limit_is_refused_before_decoding(settings, monkeypatch):
    settings.MNVAULT_MAX_DOCUMENT_MB = 1
    source = phone_jpeg().ljust(1024 * 1024 + 1, b"\0")

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded a file over the limit")

    monkeypatch.setattr(document_files.Image, "open", no_decoding)
    monkeypatch.setattr(document_files, "PdfReader", no_decoding)

    assert refusal(source) == "too_large"
    assert refusal(b"%PDF-1.7" + bytes(1024 * 1024)) == "too_large"


def test_file_at_the_limit_is_accepted(settings):
    settings.MNVAULT_MAX_DOCUMENT_MB = 1
    # Bytes after the end of a JPEG are ignored by decoders, and dropped by the cleaning.
    source = phone_jpeg().ljust(1024 * 1024, b"\0")

    assert clean_document(source).width == 60


# --- messages, disk -------------------------------------------------------------------------


def test_every_refusal_has_a_message(settings):
    settings.MNVAULT_MAX_DOCUMENT_MB = 7
    codes = get_args(document_files.RefusalCode)

    with translation.override("en"):
        messages = {code: DocumentRefused(code).message for code in codes}

    assert messages["too_large"] == "The file is larger than 7 MB."
    assert messages["too_many_pages"] == "This PDF has more than 10 pages."
    assert len(set(messages.values())) == len(codes)
    assert not any("%" in message for message in messages.values())


@pytest.mark.parametrize(
    "make",
    [phone_jpeg, png_with_text, pdf_with_metadata_and_scripts],
    ids=["jpeg", "png", "pdf"],
)
def test_cleaning_never_writes_to_disk(monkeypatch, make):
    source = make()
    forbid_disk_writes(monkeypatch)

    assert isinstance(clean_document(source), CleanDocument)


def test_heic_cleaning_never_writes_to_disk(monkeypatch):
    source = encode(two_tone(), "HEIF", exif=phone_exif().tobytes())
    forbid_disk_writes(monkeypatch)

    assert clean_document(source).content_type == "image/jpeg"
