"""The character check for statutory files: e-Tax and eLTAX accept Shift_JIS limited to JIS X 0208
levels 1 and 2 (domain R42; docs/formats.md, "e-Tax and optical-disc 法定調書 CSV").

Python's ``shift_jis`` codec encodes exactly JIS X 0201 (ASCII and half-width katakana) plus the
JIS X 0208 rows — not the NEC/IBM extensions that Windows' cp932 adds (①, ㈱, Ⅰ, 髙, 﨑) and
nothing beyond JIS (𠮷). So "encodes as shift_jis" is the test, with one exception: half-width
katakana encode, yet the e-Tax QA (gimuka/30.htm) asks for full width, so they are reported too
— except where a layout demands them (the 統一CSV's 半角カナ氏名).

Nothing here ever drops or replaces a character by itself: a name is a legal identity, so every
problem goes back to a person with a suggestion (or none) and a human decides.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

ENCODING = "shift_jis"
LINE_END = "\r\n"
SEPARATOR = ","

# Replacements a human would almost always accept. The targets are full-width because the text
# fields these characters turn up in (住所, 氏名, 摘要) are 全角 fields in every layout read.
# 髙→高 etc. are the "standard form" the 東京国税局 notice and the e-Tax QA point to; whether a
# given person accepts the standard form of their name is theirs to say, hence only a suggestion.
SUGGESTIONS: dict[str, str] = {
    "髙": "高",
    "﨑": "崎",
    "德": "徳",
    "濵": "浜",
    "栁": "柳",
    "㈱": "（株）",
    "㈲": "（有）",
    "㈹": "（代）",
    "№": "Ｎｏ．",
    "℡": "ＴＥＬ",
    # Windows IME forms of JIS characters (cp932 maps them, JIS X 0208 has the other code point).
    "～": "〜",
    "－": "−",
    "∥": "‖",
    "￠": "¢",
    "￡": "£",
    "￢": "¬",
}
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_FULL_DIGITS = "０１２３４５６７８９"
for _n, _c in enumerate(_CIRCLED, start=1):
    SUGGESTIONS[_c] = "（" + "".join(_FULL_DIGITS[int(d)] for d in str(_n)) + "）"
_ROMAN_UPPER = "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ"
_ROMAN_LOWER = "ⅰⅱⅲⅳⅴⅵⅶⅷⅸⅹ"
_ROMAN_TEXT = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
for _u, _l, _t in zip(_ROMAN_UPPER, _ROMAN_LOWER, _ROMAN_TEXT, strict=True):
    SUGGESTIONS[_u] = "".join(chr(ord(ch) + 0xFEE0) for ch in _t)  # full-width Latin
    SUGGESTIONS[_l] = "".join(chr(ord(ch.lower()) + 0xFEE0) for ch in _t)

_HALFWIDTH_KANA = range(0xFF61, 0xFFA0)
_SOUND_MARKS = ("\uff9e", "\uff9f")  # ﾞ ﾟ


@dataclass(frozen=True)
class CharProblem:
    """One character (or a half-width kana with its sound mark, which belong together) that the
    file may not carry. ``position`` counts code points from 0; ``suggestion`` is None when
    nobody can guess a replacement."""

    char: str
    position: int
    suggestion: str | None


@dataclass(frozen=True)
class ColumnProblem:
    column: int
    char: str
    position: int
    suggestion: str | None

    def describe(self) -> str:
        """Safe for a message or log: a reported digit (say, an Arabic-Indic one typed into a
        number column) is not shown, so no number can be rebuilt from the problems."""
        hint = f" → {self.suggestion!r}" if self.suggestion is not None else " (no suggestion)"
        shown = "a non-JIS digit" if any(c.isdigit() for c in self.char) else repr(self.char)
        if shown != repr(self.char):
            hint = ""
        return f"column {self.column}, position {self.position}: {shown}{hint}"


class JisError(ValueError):
    """A row that cannot be written as it stands. Lists every problem, so one round trip to the
    person fixes them all; never the values themselves (a value may be a number)."""

    def __init__(self, problems: Sequence[ColumnProblem]) -> None:
        self.problems = list(problems)
        super().__init__(
            "characters outside JIS X 0208 or not allowed in the file: "
            + "; ".join(p.describe() for p in self.problems)
        )


def is_jis(text: str) -> bool:
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def _is_halfwidth_kana(ch: str) -> bool:
    return ord(ch) in _HALFWIDTH_KANA


def _suggest(text: str) -> str | None:
    if text in SUGGESTIONS:
        return SUGGESTIONS[text]
    normal = unicodedata.normalize("NFKC", text)
    if normal == text or not is_jis(normal) or any(_is_halfwidth_kana(c) for c in normal):
        return None
    return normal


def problems(text: str, *, allow_halfwidth_kana: bool = False) -> list[CharProblem]:
    """Every character of ``text`` the file may not carry, in order."""
    found: list[CharProblem] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if _is_halfwidth_kana(ch):
            cluster = ch
            if i + 1 < len(text) and text[i + 1] in _SOUND_MARKS:
                cluster += text[i + 1]
            if not allow_halfwidth_kana:
                found.append(CharProblem(cluster, i, _suggest(cluster)))
            i += len(cluster)
            continue
        if not is_jis(ch):
            found.append(CharProblem(ch, i, _suggest(ch)))
        i += 1
    return found


def _column_problems(column: int, value: str, allow_halfwidth_kana: bool) -> list[ColumnProblem]:
    found = [
        ColumnProblem(column, p.char, p.position, p.suggestion)
        for p in problems(value, allow_halfwidth_kana=allow_halfwidth_kana)
    ]
    # 05.htm: half-width commas only between fields; a full-width comma is the documented way
    # to keep one in a name. Control characters (tabs, line breaks) break the record.
    for pos, ch in enumerate(value):
        if ch == SEPARATOR:
            found.append(ColumnProblem(column, ch, pos, "，"))
        elif unicodedata.category(ch) == "Cc":
            found.append(ColumnProblem(column, ch, pos, None))
    return sorted(found, key=lambda p: p.position)


def _plain(value: str) -> bool:
    """Printable ASCII without a comma has no problem to find (every such character encodes
    in Shift_JIS, none is a control character or half-width kana): most cells of a record are
    empty or digits, and checking them character by character was a fifth of a run's time."""
    return value.isascii() and value.isprintable() and SEPARATOR not in value


def encode_row(values: Sequence[str], *, halfwidth_kana_columns: Collection[int] = ()) -> bytes:
    """One CSV record as the file carries it: half-width commas, CRLF, Shift_JIS.

    ``halfwidth_kana_columns`` names the 0-based columns whose layout demands half-width kana.
    Raises JisError with every problem of the whole row; nothing is dropped or replaced.
    """
    found: list[ColumnProblem] = []
    for column, value in enumerate(values):
        if _plain(value):
            continue
        found.extend(_column_problems(column, value, column in halfwidth_kana_columns))
    if found:
        raise JisError(found)
    return (SEPARATOR.join(values) + LINE_END).encode(ENCODING)
