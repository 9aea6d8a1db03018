"""A clone explains itself: the architecture and the legal rules the code cites are documents in
the repository (docs/), and no tracked file sends the reader to a place outside it."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ARCHITECTURE = DOCS / "architecture.md"
DOMAIN = DOCS / "domain.md"
FORMATS = DOCS / "formats.md"

# Written in two halves so that this file does not name the places it forbids.
OUTSIDE = ("../" + "shared", "/work/" + "shared")
TEXT_SUFFIXES = {".py", ".md", ".html", ".txt", ".po", ".toml", ".sh", ".css", ".js"}
# "R25" as a citation of a legal rule: "domain R25", "(R20, R21)", "R39–R41".
RULE = re.compile(r"(?<![\w-])R(\d{1,3})\b")
# A rule's entry in docs/domain.md: a list item that starts with the rule in bold.
RULE_ENTRY = re.compile(r"^- \*\*R(\d+)\*\*", re.MULTILINE)
# 'docs/architecture.md, "Audit log"' (a comment may wrap between the comma and the quote).
SECTION_CITATION = re.compile(r'docs/architecture\.md,\s*(?:#\s*)?"([^"]+)"')
INVARIANT_CITATION = re.compile(r"docs/architecture\.md,\s*invariants? ([\d, and]+)")


@cache
def tracked_files() -> tuple[Path, ...]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    paths = (ROOT / name for name in listing.split("\0") if name)
    return tuple(path for path in paths if path.is_file())  # not those deleted in the work tree


def is_screenshot(path: Path) -> bool:
    return path.is_relative_to(DOCS / "screenshots") and path.suffix not in TEXT_SUFFIXES


def tracked_text() -> dict[Path, str]:
    """Every tracked text file but docs/domain.md, where the rules themselves are written."""
    return {
        path: path.read_text(encoding="utf-8")
        for path in tracked_files()
        if path.suffix in TEXT_SUFFIXES and path != DOMAIN
    }


def rule_entries() -> list[int]:
    return [int(n) for n in RULE_ENTRY.findall(DOMAIN.read_text(encoding="utf-8"))]


def cited_rules(text: str) -> set[int]:
    return {int(n) for n in RULE.findall(text)}


def where(paths) -> str:
    return ", ".join(sorted(str(p.relative_to(ROOT)) for p in paths))


def test_the_architecture_the_rules_and_the_formats_are_documents_of_the_repository():
    for document in (ARCHITECTURE, DOMAIN, FORMATS):
        assert document.is_file(), f"{document.relative_to(ROOT)} is missing"
        assert document.read_text(encoding="utf-8").strip(), f"{document.name} is empty"


def test_no_tracked_file_points_outside_the_repository():
    offenders = [
        path
        for path in tracked_files()
        if not is_screenshot(path) and any(o.encode() in path.read_bytes() for o in OUTSIDE)
    ]
    assert not offenders, f"these files point outside the repository: {where(offenders)}"


def test_docs_domain_has_one_entry_for_each_rule_r1_to_r44_in_order():
    assert rule_entries() == list(range(1, 45))


def test_every_rule_the_code_and_docs_cite_has_its_entry_in_docs_domain():
    written = set(rule_entries())
    unknown = {
        str(path.relative_to(ROOT)): sorted(cited_rules(text) - written)
        for path, text in tracked_text().items()
        if cited_rules(text) - written
    }
    assert not unknown, f"rules cited but not in docs/domain.md: {unknown}"


def test_every_cited_architecture_section_and_invariant_exists():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    sections = set(re.findall(r"^## (.+)$", text, re.MULTILINE))
    assert "\n## Invariants\n" in text, "docs/architecture.md has no section Invariants"
    listed = text.split("\n## Invariants\n", 1)[1].split("\n## ", 1)[0]
    invariants = {int(n) for n in re.findall(r"^(\d+)\. ", listed, re.MULTILINE)}
    assert invariants, "docs/architecture.md lists no invariants"
    missing = set()
    for path, source in tracked_text().items():
        flat = re.sub(r"\s+", " ", source)
        missing |= {
            (path.name, name) for name in SECTION_CITATION.findall(flat) if name not in sections
        }
        for numbers in INVARIANT_CITATION.findall(flat):
            missing |= {
                (path.name, f"invariant {n}")
                for n in map(int, re.findall(r"\d+", numbers))
                if n not in invariants
            }
    assert not missing, f"citations of docs/architecture.md that it does not have: {missing}"


def test_readme_sends_readers_to_the_documents_in_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in ("docs/architecture.md", "docs/domain.md"):
        assert f"]({target})" in readme, f"README.md does not link to {target}"
