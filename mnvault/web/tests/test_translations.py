"""Japanese is the default language: every string of the staff pages must have a Japanese
translation, or a Japanese user meets English in the middle of a page; and a page speaks one
language, never "日本語 / English" side by side.

Messages are found as makemessages finds them: gettext calls of any kind in the code (lazy,
no-op, plural; strings split over lines included), and ``translate`` and ``blocktranslate``
(plural forms too) in the templates.
"""

from __future__ import annotations

import ast
import gettext as gnu_gettext
import html
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation.template import templatize

from mnvault.conftest import ALL_DATABASES, make_person
from mnvault.people.models import Person

ROOT = Path(__file__).resolve().parents[2]  # the mnvault package
PO = ROOT / "locale" / "ja" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
SINGULAR = {"_", "gettext", "gettext_lazy", "gettext_noop"}
PLURAL = {"ngettext", "ngettext_lazy"}
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]+")


@dataclass(frozen=True)
class Message:
    msgid: str
    plural: str = ""
    where: str = field(default="", compare=False)


def _sources(*suffixes: str) -> list[Path]:
    return [
        path
        for path in sorted(ROOT.rglob("*"))
        if path.suffix in suffixes and not {"tests", "migrations"} & set(path.parts)
    ]


def _from_python(path: Path) -> list[Message]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = (
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        )
        texts = [a.value for a in node.args[:2] if isinstance(a, ast.Constant)]
        if name in SINGULAR and texts and isinstance(texts[0], str):
            found.append(Message(texts[0], where=str(path)))
        elif name in PLURAL and len(texts) == 2:
            found.append(Message(str(texts[0]), str(texts[1]), where=str(path)))
    return found


def _from_template(path: Path) -> list[Message]:
    """Django turns ``translate`` and ``blocktranslate`` into gettext calls for xgettext; the
    calls are read back from its output."""
    tokens = list(tokenize.generate_tokens(io.StringIO(templatize(path.read_text())).readline))
    found = []
    for i, token in enumerate(tokens[:-1]):
        if token.string not in {"gettext", "ngettext"} or tokens[i + 1].string != "(":
            continue
        texts, j = [], i + 2
        while tokens[j].type == tokenize.STRING:  # the arguments: strings, then a count
            texts.append(ast.literal_eval(tokens[j].string))
            if tokens[j + 1].string != ",":
                break
            j += 2
        if token.string == "gettext":
            found.append(Message(texts[0], where=str(path)))
        else:
            found.append(Message(texts[0], texts[1], where=str(path)))
    return found


def messages() -> list[Message]:
    found = [m for path in _sources(".py") for m in _from_python(path)]
    found += [m for path in _sources(".html", ".txt") for m in _from_template(path)]
    return sorted(set(found), key=lambda m: (m.msgid, m.plural))


def english_strings() -> set[str]:
    return {m.msgid for m in messages() if not m.plural}


@dataclass
class Entry:
    msgid: str = ""
    plural: str = ""
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False


def catalogue() -> dict[str, Entry]:
    """The .po file's entries by msgid (a small reader: the file holds no contexts)."""
    entries, entry, target = {}, Entry(), None
    for line in [*PO.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if target is not None:
                entries[entry.msgid] = entry
            entry, target = Entry(), None
        elif line.startswith("#~"):
            entry.obsolete = True
        elif line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            text = ast.literal_eval(line)
            if target == "msgstr":
                entry.msgstr[-1] += text
            elif target is not None:
                setattr(entry, target, getattr(entry, target) + text)
        else:
            keyword, _, value = line.partition(" ")
            text = ast.literal_eval(value)
            if keyword.startswith("msgstr"):
                target = "msgstr"
                entry.msgstr.append(text)
            else:
                target = {"msgid": "msgid", "msgid_plural": "plural"}[keyword]
                setattr(entry, target, text)
    entries.pop("", None)  # the header
    return entries


# --- the catalogue --------------------------------------------------------------------------


def test_the_scan_finds_strings():
    found = set(messages())
    assert {Message("Sign in"), Message("Show for 30 seconds")} <= found
    assert Message("Number shown") in found  # gettext_lazy, in the audit actions
    assert Message("My Number card (front and back)") in found  # gettext_noop
    assert Message("%(n)d invitation sent.", "%(n)d invitations sent.") in found  # ngettext
    errors = Message("Nothing was stored: %(n)d error.", "Nothing was stored: %(n)d errors.")
    assert errors in found
    held = "The chain holds: %(entries)s entries checked, %(checkpoints)s signed checkpoints hold."
    assert Message(held) in found  # blocktranslate, with variables
    split = (
        "Without this key file no stored number can ever be read: back it up apart from the data."
    )
    assert Message(split) in found  # a string split over lines in the code


@pytest.mark.parametrize("text", sorted(english_strings()))
def test_every_string_has_a_japanese_translation(text):
    with translation.override("ja"):
        assert translation.gettext(text) != text, f"no Japanese for {text!r} in locale/ja"


@pytest.mark.parametrize("message", [m for m in messages() if m.plural], ids=lambda m: m.msgid[:40])
def test_every_plural_has_a_japanese_translation(message):
    with translation.override("ja"):
        for n in (0, 1, 2, 5):
            shown = translation.ngettext(message.msgid, message.plural, n)
            assert shown not in (message.msgid, message.plural), (message, n)


def test_every_message_of_the_code_is_in_the_catalogue_translated_and_not_fuzzy():
    entries = catalogue()
    for message in messages():
        entry = entries.get(message.msgid)
        assert entry is not None, f"{message.msgid!r} ({message.where}): run makemessages"
        assert entry.plural == message.plural, message
        assert entry.msgstr and all(entry.msgstr), f"{message.msgid!r} has no Japanese"
        assert "fuzzy" not in entry.flags, f"{message.msgid!r} is fuzzy"


def test_the_catalogue_has_no_fuzzy_empty_or_obsolete_entry():
    entries = catalogue()
    assert len(entries) > 600
    assert [e.msgid for e in entries.values() if "fuzzy" in e.flags] == []
    assert [e.msgid for e in entries.values() if not e.msgstr or not all(e.msgstr)] == []
    assert [e.msgid for e in entries.values() if e.obsolete] == []


def test_the_compiled_catalogue_matches_the_po_file():
    """The .mo is committed: a .po edited but not compiled would show English."""
    with MO.open("rb") as handle:
        compiled = gnu_gettext.GNUTranslations(handle)
    for entry in catalogue().values():
        if entry.plural:
            assert compiled.ngettext(entry.msgid, entry.plural, 1) == entry.msgstr[0]
        else:
            assert compiled.gettext(entry.msgid) == entry.msgstr[0], entry.msgid


# --- one language per page --------------------------------------------------------------------

VISIBLE_ATTRIBUTES = re.compile(r'\b(?:title|aria-label|placeholder|alt)="([^"]*)"')
BILINGUAL = re.compile(
    r"[\u3040-\u30ff\u3400-\u9fff][^/<>\n]{0,60}\s/\s+[A-Za-z]"
    r"|[A-Za-z][^/<>\n]{0,60}\s/\s+[\u3040-\u30ff\u3400-\u9fff]"
)


def visible_texts(page: str) -> list[str]:
    """What a reader sees or hears: the text between tags and the labelling attributes."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    texts = [html.unescape(t) for t in VISIBLE_ATTRIBUTES.findall(page)]
    body = re.sub(r"<[^>]+>", "\n", page)
    texts += [html.unescape(t).strip() for t in body.split("\n")]
    return [" ".join(t.split()) for t in texts if t.strip()]


def english_sentences() -> set[str]:
    """The catalogue's English text of more than one word: none may show on a Japanese page."""
    return {
        m for m in english_strings() if " " in m.strip() and not m.startswith("%") and len(m) > 8
    }


@pytest.fixture
def pages(signed_in, personas, employee, stored):
    """The people list, a person and the dashboard as a handler; the audit log as an auditor,
    with a refusal in it (its reason labelled)."""
    from mnvault.vault.errors import Refused
    from mnvault.vault.services import reveal_number

    make_person(personas.company, family_name="佐藤", given_name="花子", employee_code="E002")
    with pytest.raises(Refused):  # a purpose the company notifies, not notified to the person
        reveal_number(acting_user=personas.handler, person=employee, purpose="social_insurance")
    company = personas.company.pk
    return [
        (personas.handler, reverse("web:people", args=[company])),
        (personas.handler, reverse("web:person", args=[company, employee.pk])),
        (personas.handler, reverse("web:dashboard", args=[company])),
        (personas.auditor, reverse("web:audit", args=[company])),
    ]


def _get(signed_in, user, url: str, language: str) -> str:
    client = signed_in(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_japanese_page_has_no_english_beside_or_instead_of_japanese(signed_in, pages):
    sentences = english_sentences()
    for user, url in pages:
        texts = visible_texts(_get(signed_in, user, url, "ja"))
        assert any(JAPANESE.search(t) for t in texts), url
        pairs = [t for t in texts if BILINGUAL.search(t)]
        assert pairs == [], f"{url}: Japanese and English side by side"
        untranslated = {s for s in sentences for t in texts if s in t}
        assert untranslated == set(), f"{url}: English on a Japanese page"


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_an_english_page_has_no_japanese_but_the_data(signed_in, personas, pages):
    """Names are data and stay as written; the language switch names Japanese in Japanese."""
    data = {"日本語"}
    for company in (personas.company, personas.other_company):
        data.add(company.name)
    for person in Person.objects.all():
        data.update(
            (person.family_name, person.given_name, person.family_name_kana, person.given_name_kana)
        )
    for user, url in pages:
        texts = visible_texts(_get(signed_in, user, url, "en"))
        assert any("Sign out" in t for t in texts), url  # the page is English indeed
        stray = {
            run
            for text in texts
            for run in JAPANESE.findall(text)
            if not any(run in value for value in data)
        }
        assert stray == set(), f"{url}: Japanese on an English page"


@pytest.fixture
def documents_pages(signed_in, personas, make_number, tmp_path, monkeypatch):
    """The documents list, the new-run form and a run with a problem (an unmatched line), as
    a handler."""
    from mnvault.usage import runs
    from mnvault.usage.tests.factory import csv_bytes, staff, unified_row

    monkeypatch.setenv("MNVAULT_DATA_DIR", str(tmp_path))
    scene = staff(personas.company, personas.handler, make_number, 2)
    rows = [unified_row(2025, s) for s in scene] + [unified_row(2025, scene[0], code="X9")]
    rows[-1][0] = "315"
    run = runs.prepare_run(
        acting_user=personas.handler,
        company=personas.company,
        kind="withholding",
        year=2025,
        data=csv_bytes(rows),
    )
    company = personas.company.pk
    return [
        (personas.handler, reverse("web:documents", args=[company])),
        (personas.handler, reverse("web:document_new", args=[company])),
        (personas.handler, reverse("web:document_run", args=[company, run.pk])),
    ]


def usage_terms() -> set[str]:
    """The Japanese that mnvault.usage's own English text carries: the input files' column
    names that the kinds' upload help quotes (支払先コード), which a user must write as they are."""
    from mnvault.usage.kinds import KINDS
    from mnvault.usage.models import Recipient, SubmissionMethod

    with translation.override("en"):  # their English text, which is what an English page shows
        labels = [str(k.label) for k in KINDS.values()]
        labels += [str(k.input_help) for k in KINDS.values()]
        labels += [str(label) for _, label in (*Recipient.choices, *SubmissionMethod.choices)]
        return {run for label in labels for run in JAPANESE.findall(label)}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_the_documents_pages_are_in_one_language(signed_in, personas, documents_pages):
    sentences = english_sentences()
    allowed = usage_terms() | {"日本語", personas.company.name}
    allowed |= {v for p in Person.objects.all() for v in (p.family_name, p.given_name)}
    allowed |= {v for p in Person.objects.all() for v in (p.family_name_kana, p.given_name_kana)}
    for user, url in documents_pages:
        texts = visible_texts(_get(signed_in, user, url, "ja"))
        assert [t for t in texts if BILINGUAL.search(t)] == [], url
        assert {s for s in sentences for t in texts if s in t} == set(), url
        english = visible_texts(_get(signed_in, user, url, "en"))
        stray = {
            run
            for text in english
            for run in JAPANESE.findall(text)
            if not any(run in value for value in allowed)
        }
        assert stray == set(), f"{url}: Japanese on an English page"
