"""The fonts embedded in every statutory PDF.

reportlab's built-in CID fonts (HeiseiMin-W3, HeiseiKakuGo-W5) are not embedded: each viewer
substitutes a font of its own, so the same document looks different on the tax office's screen
and on the employee's printer (docs/formats.md, "PDFs in Japanese"). A TrueType font embedded as
a subset renders identically everywhere, so that is the only kind used, and a missing font is an
error rather than a silent fall-back to a CID font.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

FONT_DIR_VARIABLE = "MNVAULT_PDF_FONT_DIR"


@dataclass(frozen=True)
class Face:
    """One typeface: the name reportlab knows it by, its file, and the Debian package that
    installs that file (IPA Font License v1.0)."""

    name: str
    file: str
    package: str
    debian_dirs: tuple[str, ...]


MINCHO = Face(
    "IPAexMincho",
    "ipaexm.ttf",
    "fonts-ipaexfont-mincho",
    (
        "/usr/share/fonts/opentype/ipaexfont-mincho",
        "/usr/share/fonts/truetype/ipaexfont-mincho",
        "/usr/share/fonts/opentype/ipaexfont",
        "/usr/share/fonts/truetype/ipaexfont",
    ),
)
GOTHIC = Face(
    "IPAexGothic",
    "ipaexg.ttf",
    "fonts-ipaexfont-gothic",
    (
        "/usr/share/fonts/opentype/ipaexfont-gothic",
        "/usr/share/fonts/truetype/ipaexfont-gothic",
        "/usr/share/fonts/opentype/ipaexfont",
        "/usr/share/fonts/truetype/ipaexfont",
    ),
)
FACES = (MINCHO, GOTHIC)


class FontNotFound(RuntimeError):
    """No embeddable Japanese font: the PDF is not made at all. ``str()`` is the message in
    the active language, naming what to install."""

    def __init__(self, message: StrOrPromise) -> None:
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.message)


def font_dirs() -> tuple[Path, ...]:
    """Where to look: only the folder the setting names when it is set (so an installation
    that points elsewhere never silently picks up another font), else Debian's folders."""
    configured = os.environ.get("MNVAULT_PDF_FONT_DIR")
    if configured:
        return (Path(configured),)
    return tuple(Path(d) for face in FACES for d in face.debian_dirs)


def find(face: Face, dirs: tuple[Path, ...] | None = None) -> Path:
    for directory in font_dirs() if dirs is None else dirs:
        candidate = directory / face.file
        if candidate.is_file():
            return candidate
    raise FontNotFound(
        _(
            "The Japanese font %(file)s needed for PDFs was not found. Install the Debian "
            "packages fonts-ipaexfont-mincho and fonts-ipaexfont-gothic (scripts/ensure-fonts.sh "
            "does it), or set MNVAULT_PDF_FONT_DIR to a folder holding ipaexm.ttf and ipaexg.ttf."
        )
        % {"file": face.file}
    )


def register() -> tuple[str, str]:
    """Register both faces with reportlab once per process (loading a 4 MB font file each
    time would dominate small documents) and return their names: (mincho, gothic).

    TTFont embeds only the glyphs a document uses (subset embedding), as a FontFile2.
    """
    registered = set(pdfmetrics.getRegisteredFontNames())
    for face in FACES:
        if face.name not in registered:
            pdfmetrics.registerFont(TTFont(face.name, str(find(face))))
    return MINCHO.name, GOTHIC.name
