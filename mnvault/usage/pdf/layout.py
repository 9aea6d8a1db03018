"""Drawing helpers shared by the statutory PDFs: boxes on a grid measured from a frame's top
left (as a form is read), Japanese era dates, money, and the check that keeps numbers out of
a recipient's copy.

Every document is drawn with reportlab's canvas, page by page: a page is finished (and its
content compressed) before the next person is read, so nothing but the finished pages is held
(no flowables for the whole batch).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO

from django.utils.translation import gettext_lazy as _
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from stdnum.jp import cn

from mnvault.domain.numbers import holds_number
from mnvault.usage.pdf import fonts

PAGE_WIDTH, PAGE_HEIGHT = A4
# One slip per half of an A4 sheet (A5 landscape, 210 × 148.5 mm), two per page. The official
# sheet size of the 源泉徴収票 and the 支払調書 is unconfirmed (docs/formats.md, "PDFs in
# Japanese"); a half sheet holds the official boxes at a legible size and prints on any office
# printer.
HALF_HEIGHT = PAGE_HEIGHT / 2
MARGIN = 18.0
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
LINE = 0.6
THIN = 0.3

# Era starts (the first day of each 元号), for dates of birth and the like.
ERAS: tuple[tuple[date, str, str], ...] = (
    (date(2019, 5, 1), "令和", "令"),
    (date(1989, 1, 8), "平成", "平"),
    (date(1926, 12, 25), "昭和", "昭"),
    (date(1912, 7, 30), "大正", "大"),
    (date(1868, 10, 23), "明治", "明"),
)


def document_year(year: int) -> str:
    """The 年分 as printed in a title: the calendar year in 令和 (year − 2018; 2019 is 元年,
    the whole of 2019 being 令和元年分 on the forms)."""
    if year < 2019:
        raise ValueError("statutory documents before 令和 are not made")
    n = year - 2018
    return f"令和{'元' if n == 1 else n}年分"


def era_date(day: date) -> tuple[str, int, int, int]:
    """(short era, year in that era, month, day), e.g. ("平", 2, 4, 1) for 1990-04-01."""
    for start, _name, short in ERAS:
        if day >= start:
            return short, day.year - start.year + 1, day.month, day.day
    raise ValueError("a date before the Meiji era")


def yen(amount: int | None) -> str:
    return "" if amount is None else f"{amount:,}"


class NumberInSlip(ValueError):
    """A text of a slip looks like a 個人番号 or 法人番号: a copy that must carry none is not made.
    The message names the field, never its value."""

    def __init__(self, field: str) -> None:
        self.field = field
        self.message = _(
            "The field %(field)s of a document for its recipient holds what looks like an "
            "individual or corporate number; the copy without numbers was not made."
        ) % {"field": field}
        super().__init__(self.message)

    def __str__(self) -> str:
        return str(self.message)


_THIRTEEN_DIGITS = re.compile(r"(?<![0-9])(?:[0-9][ \-]*){12}[0-9](?![0-9])")


def _holds_corporate_number(text: str) -> bool:
    return any(cn.is_valid(m.group()) for m in _THIRTEEN_DIGITS.finditer(text))


def _texts(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _texts(getattr(value, f.name), f"{path}.{f.name}" if path else f.name)
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from _texts(item, f"{path}[{i}]")


def refuse_numbers(slip: object) -> None:
    """Raise NumberInSlip when any text of the slip (payer, relatives included) holds what
    validates as a 個人番号 or a 法人番号: the Slip/Numbers split keeps numbers out by
    construction, and this keeps out one typed into a remark or an address by mistake."""
    for path, text in _texts(slip, ""):
        if holds_number(text) or _holds_corporate_number(text):
            raise NumberInSlip(path)


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines of ``text`` no wider than ``width``, broken at any character (Japanese has no
    spaces to break at) and at newlines."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for char in paragraph:
            if line and stringWidth(line + char, font, size) > width:
                lines.append(line)
                line = char
            else:
                line += char
        lines.append(line)
    return lines


@dataclass
class Frame:
    """A region of a page measured from its top left, in points, y growing downwards."""

    canvas: Canvas
    left: float
    top: float

    def __post_init__(self) -> None:
        self.mincho, self.gothic = fonts.register()

    def y(self, down: float) -> float:
        return self.top - down

    def box(self, x: float, y: float, w: float, h: float, width: float = LINE) -> None:
        self.canvas.setLineWidth(width)
        self.canvas.rect(self.left + x, self.y(y + h), w, h, stroke=1, fill=0)

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float = THIN) -> None:
        self.canvas.setLineWidth(width)
        self.canvas.line(self.left + x1, self.y(y1), self.left + x2, self.y(y2))

    def text(
        self,
        x: float,
        baseline: float,
        text: str,
        size: float = 8,
        *,
        font: str | None = None,
        align: str = "left",
        width: float | None = None,
    ) -> None:
        """One line of text; with ``width`` it shrinks until it fits (a long name stays whole)."""
        if not text:
            return
        face = font or self.gothic
        if width is not None:
            while size > 4 and stringWidth(text, face, size) > width:
                size -= 0.5
        self.canvas.setFont(face, size)
        x_abs, y_abs = self.left + x, self.y(baseline)
        if align == "right":
            self.canvas.drawRightString(x_abs, y_abs, text)
        elif align == "center":
            self.canvas.drawCentredString(x_abs, y_abs, text)
        else:
            self.canvas.drawString(x_abs, y_abs, text)

    def label(self, x: float, y: float, w: float, text: str, size: float = 5.5) -> None:
        """A box's printed caption, small, at its top left."""
        self.text(x + 1.5, y + size + 1, text, size, font=self.mincho, width=w - 3)

    def caption(self, x: float, y: float, w: float, h: float, text: str, size: float = 6) -> None:
        """A caption filling a header cell, centred, wrapped to two lines when long."""
        lines = wrap(text, self.mincho, size, w - 3)
        while len(lines) > 2 and size > 4:
            size -= 0.5
            lines = wrap(text, self.mincho, size, w - 3)
        top = y + (h - len(lines) * (size + 1)) / 2 + size
        for i, line in enumerate(lines):
            self.text(x + w / 2, top + i * (size + 1), line, size, font=self.mincho, align="center")

    def vertical(self, x: float, y: float, w: float, h: float, text: str, size: float = 6) -> None:
        """A caption written top to bottom, one character a line, as forms label their blocks."""
        size = min(size, (h - 2) / max(len(text), 1))
        top = y + (h - len(text) * size) / 2 + size * 0.88
        for i, char in enumerate(text):
            self.text(x + w / 2, top + i * size, char, size, font=self.mincho, align="center")

    def paragraph(self, x: float, y: float, w: float, h: float, text: str, size: float = 7) -> None:
        """Text wrapped inside a box; shrunk until it fits its height."""
        lines = wrap(text, self.gothic, size, w - 4)
        while len(lines) * (size + 1.5) > h - 2 and size > 4:
            size -= 0.5
            lines = wrap(text, self.gothic, size, w - 4)
        for i, line in enumerate(lines):
            self.text(x + 2, y + 1 + (i + 1) * (size + 1.5) - 1.5, line, size)

    def hatch(self, x: float, y: float, w: float, h: float, step: float = 5) -> None:
        """A struck-out area: where a number would go on an authority's copy, so that nothing
        can be written there on a recipient's copy (the official recipient forms shade it)."""
        c = self.canvas
        c.saveState()
        path = c.beginPath()
        path.rect(self.left + x, self.y(y + h), w, h)
        c.clipPath(path, stroke=0, fill=0)
        c.setLineWidth(THIN)
        offset = -h
        while offset < w:
            self.line(x + offset, y + h, x + offset + h, y)
            offset += step
        c.restoreState()
        self.box(x, y, w, h)

    def cells(self, x: float, y: float, w: float, h: float, count: int) -> None:
        """The empty digit cells of a number box."""
        self.box(x, y, w, h)
        cell = w / count
        for i in range(1, count):
            self.line(x + i * cell, y + h * 0.35, x + i * cell, y + h)

    def digits(self, x: float, y: float, w: float, h: float, count: int, value: str) -> None:
        """A number written into ``count`` cells as one text run (character spacing puts each
        digit in its cell), so that text extraction reads it back whole."""
        if not value:
            return
        cell = w / count
        size = min(h * 0.6, cell * 1.3)
        digit = stringWidth("0", self.gothic, size)
        text = self.canvas.beginText()
        text.setFont(self.gothic, size)
        text.setCharSpace(cell - digit)
        text.setTextOrigin(self.left + x + (cell - digit) / 2, self.y(y + h - (h - size) / 2 - 1))
        text.textOut(value)
        self.canvas.saveState()  # the character spacing must not outlive this number
        self.canvas.drawText(text)
        self.canvas.restoreState()


def half_page_document(
    out: BinaryIO,
    items: Iterable[Any],
    draw: Callable[[Frame, Any], None],
    *,
    title: str,
    static: Callable[[Frame], None],
) -> int:
    """Two slips a page, top and bottom halves of an A4 sheet, streamed: each page is finished
    before the next two items are read. The grid, the same for every slip, is drawn once as a
    form (XObject) and placed on each half; ``draw`` adds one item's values. Returns the page
    count."""
    canvas = new_canvas(out, title)
    form = "slip-grid"
    canvas.beginForm(form, lowerx=0, lowery=0, upperx=PAGE_WIDTH, uppery=HALF_HEIGHT)
    static(Frame(canvas, MARGIN, HALF_HEIGHT))
    canvas.endForm()
    pages = 0
    half = 0
    for item in items:
        if half == 0:
            pages += 1
            cut_line(canvas)
        offset = HALF_HEIGHT * (1 - half)
        canvas.saveState()
        canvas.translate(0, offset)
        canvas.doForm(form)
        canvas.restoreState()
        draw(Frame(canvas, MARGIN, offset + HALF_HEIGHT), item)
        half = 1 - half
        if half == 0:
            canvas.showPage()
    if half == 1:
        canvas.showPage()
    canvas.save()
    return pages


def cut_line(canvas: Canvas) -> None:
    canvas.saveState()
    canvas.setDash(3, 3)
    canvas.setLineWidth(THIN)
    canvas.setStrokeGray(0.6)
    canvas.line(MARGIN / 2, HALF_HEIGHT, PAGE_WIDTH - MARGIN / 2, HALF_HEIGHT)
    canvas.restoreState()


def new_canvas(out: BinaryIO, title: str, *, wide: bool = False) -> Canvas:
    canvas = Canvas(
        out,
        pagesize=landscape(A4) if wide else A4,
        pageCompression=1,
        invariant=1,  # no creation time: the same data makes the same bytes
        # Each page's preamble selects this font: the embedded face, or the page would name
        # Helvetica, a font no PDF of ours embeds. (The stubs type the argument as a number.)
        initialFontName=fonts.register()[1],  # type: ignore[arg-type]
    )
    canvas.setTitle(title)
    canvas.setCreator("mnvault")
    return canvas


@dataclass(frozen=True)
class Column:
    title: str
    width: float  # a share of the table's width
    align: str = "left"


def table_document(
    out: BinaryIO,
    rows: Iterable[Sequence[str]],
    columns: Sequence[Column],
    *,
    title: str,
    header: Sequence[str],
    footer: Sequence[str],
    wide: bool = False,
) -> int:
    """A table over as many pages as it needs, streamed row by row: each page is finished
    before more rows are read. ``header`` lines open every page, ``footer`` lines close it.
    Returns the page count."""
    canvas = new_canvas(out, title, wide=wide)
    width, height = landscape(A4) if wide else A4
    frame = Frame(canvas, MARGIN, height - MARGIN)
    table_width = width - 2 * MARGIN
    share = sum(c.width for c in columns)
    widths = [c.width / share * table_width for c in columns]
    row_h = 16.0
    header_h = 14 + 12 * len(header)
    footer_h = 10 * len(footer) + 8
    per_page = int((height - 2 * MARGIN - header_h - 16 - footer_h) // row_h)
    pages = 0
    written = per_page  # forces a first page

    def open_page() -> float:
        frame.text(0, 14, title, 13, font=frame.mincho)
        for i, line in enumerate(header):
            frame.text(0, 28 + i * 12, line, 8, font=frame.mincho, width=table_width)
        y = header_h + 4
        x = 0.0
        for column, w in zip(columns, widths, strict=True):
            frame.box(x, y, w, row_h)
            frame.text(x + w / 2, y + 11, column.title, 7, font=frame.mincho, align="center")
            x += w
        return y + row_h

    def close_page() -> None:
        base = height - 2 * MARGIN - footer_h + 10
        for i, line in enumerate(footer):
            frame.text(0, base + i * 10, line, 6.5, font=frame.mincho, width=table_width)
        frame.text(table_width, base + len(footer) * 10, f"- {pages} -", 7, align="right")
        canvas.showPage()

    y = 0.0
    for row in rows:
        if written == per_page:
            if pages:
                close_page()
            pages += 1
            y = open_page()
            written = 0
        x = 0.0
        for column, w, value in zip(columns, widths, row, strict=True):
            frame.box(x, y, w, row_h, width=THIN)
            if column.align == "right":
                frame.text(x + w - 3, y + 11, value, 8, align="right", width=w - 6)
            else:
                frame.text(x + 3, y + 11, value, 8, width=w - 6)
            x += w
        y += row_h
        written += 1
    if not pages:  # an empty table still says what it is
        pages = 1
        open_page()
    close_page()
    canvas.save()
    return pages
