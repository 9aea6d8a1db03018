"""Japanese is the default language: every string of the staff pages must have a Japanese
translation, or a Japanese user meets English in the middle of a page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]  # the mnvault package
SOURCES = [
    *(ROOT / "web").rglob("*.html"),
    *(ROOT / "web").rglob("*.py"),
    ROOT / "accounts" / "signin.py",
    ROOT / "accounts" / "models.py",
    *(ROOT / "collection").rglob("*.py"),
    *(ROOT / "collection").rglob("*.txt"),
    ROOT / "domain" / "identity.py",
]
PATTERNS = [
    re.compile(r"""\{% translate "([^"]+)" %\}"""),
    re.compile(r"""\{% translate '([^']+)' %\}"""),
    re.compile(r"""\b_\(\s*"([^"]+)"\s*\)"""),
]


def english_strings() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        if "tests" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in PATTERNS:
            found.update(m for m in pattern.findall(text) if " / " not in m)  # bilingual ones
    return found


def test_the_scan_finds_strings():
    assert {"Sign in", "Show for 30 seconds"} <= english_strings()


@pytest.mark.parametrize("text", sorted(english_strings()))
def test_every_string_has_a_japanese_translation(text):
    with translation.override("ja"):
        assert translation.gettext(text) != text, f"no Japanese for {text!r} in locale/ja"
