"""The leak test (invariant 1): a full scenario — init, demo, import, reveal, refusals,
rotation, verification — run as real processes with DEBUG logging and Django's SQL log on. Every
byte it leaves behind is then searched for every number it used: the output of every process,
every row of every table of both databases, every file in the data directory. The only place a
number may appear in clear is the file the reveal script writes on purpose, outside the data
directory. (The invariants: docs/architecture.md, "Invariants".)
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mnvault.cli.tests.runner import Installation, parse_demo, write_csv
from mnvault.domain import numbers

SEED = 7
DEMO_PEOPLE = 50
HEADER = ["区分", "社員番号", "姓", "名", "セイ", "メイ", "扶養元社員番号", "続柄", "個人番号"]
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

# --- finding numbers in anything ----------------------------------------------------------------

_DIGIT = "[0-9０-９]"
_SEP = "[ \u3000\\-‐－−]"
# Every run of twelve digits, half- or full-width, each optionally followed by one separator;
# overlapping (a lookahead), so a number inside a longer run of digits is found too.
_CANDIDATE = re.compile(f"(?=({_DIGIT}(?:{_SEP}?{_DIGIT}){{11}}))")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _unescape_json(text: str) -> str:
    """``\\uff11`` as a database's JSON column may hold it → ``１``."""
    return _JSON_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text)


def _variants(data: bytes | str) -> Iterator[str]:
    if isinstance(data, str):
        yield data
        yield _unescape_json(data)
        return
    yield data.decode("latin-1")  # every byte as one character: ASCII digits at any offset
    for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
        for start in (0, 1) if encoding.startswith("utf-16") else (0,):
            text = data[start:].decode(encoding, errors="replace")
            yield text
            yield _unescape_json(text)


class NumberFinder:
    """Which of ``numbers`` appear in a text or a byte string, in any of the forms a number is
    written in: half- or full-width digits, with or without spaces or hyphens."""

    def __init__(self, numbers: set[str]) -> None:
        assert numbers and all(re.fullmatch(r"\d{12}", n) for n in numbers)
        self.numbers = frozenset(numbers)

    def find(self, data: bytes | str) -> set[str]:
        found = set()
        for text in _variants(data):
            if not re.search(_DIGIT, text):
                continue
            for match in _CANDIDATE.finditer(text):
                digits = re.sub(_SEP, "", match[1]).translate(
                    str.maketrans("０１２３４５６７８９", "0123456789")
                )
                if digits in self.numbers:
                    found.add(digits)
        return found


def forms(number: str) -> list[str]:
    """The ways a person or a program writes ``number``."""
    wide = number.translate(FULLWIDTH)
    out = []
    for digits in (number, wide):
        groups = (digits[:4], digits[4:8], digits[8:])
        out += [sep.join(groups) for sep in ("", " ", "-", "\u3000", "－")]
    return out


# --- collecting everything the scenario left ----------------------------------------------------


def collect_files(directory: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            yield f"file {path.relative_to(directory)}", path.read_bytes()


def collect_database(path: Path) -> Iterator[tuple[str, bytes | str]]:
    """Every value of every row of every table, the schema included."""
    connection = sqlite3.connect(path)
    try:
        names = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in ["sqlite_master", *names]:
            quoted = '"' + table.replace('"', '""') + '"'
            for index, row in enumerate(connection.execute(f"SELECT * FROM {quoted}")):
                for column, value in enumerate(row):
                    label = f"{path.name}: {table} row {index} column {column}"
                    if isinstance(value, bytes | str):
                        yield label, value
                    elif value is not None:
                        yield label, str(value)
    finally:
        connection.close()


def search(finder: NumberFinder, sources: Sequence[tuple[str, bytes | str]]) -> list[str]:
    return [f"{label}: {sorted(hits)}" for label, data in sources if (hits := finder.find(data))]


# --- the sanity of the search itself (it must be able to fail) ----------------------------------


def test_finder_finds_every_form_of_a_planted_number(tmp_path):
    planted = numbers.generate_fake(random.Random(1))
    other = numbers.generate_fake(random.Random(2))
    finder = NumberFinder({planted})
    near = planted[:-1] + str((int(planted[-1]) + 1) % 10)

    for form in forms(planted):
        assert finder.find(f"before {form} after") == {planted}, form
        assert finder.find(f"x{form}9".encode()) == {planted}, form
        assert finder.find(json.dumps({"detail": form})) == {planted}, form
        assert finder.find(json.dumps({"detail": form}).encode()) == {planted}, form
        assert finder.find(b"\x00\xff\x93" + form.encode("utf-16-le") + b"\x01") == {planted}
        assert finder.find(b"\xff" + form.encode("utf-16-be")) == {planted}
    assert finder.find(f"1{planted}3") == {planted}, "inside a longer run of digits"
    assert finder.find(bytes(range(256)) + planted.encode() + bytes(range(256))) == {planted}
    assert finder.find(other) == set()
    assert finder.find(near) == set()
    assert finder.find(planted[:11]) == set()

    database = tmp_path / "planted.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE t (a BLOB, b TEXT, c INTEGER)")
        connection.execute("INSERT INTO t VALUES (?, ?, ?)", [b"\x00\x01", "nothing", 1])
        connection.execute(
            "INSERT INTO t VALUES (?, ?, ?)", [b"\x9f" + planted.encode() + b"\x00", "", 2]
        )
        connection.execute("INSERT INTO t VALUES (?, ?, ?)", [None, forms(planted)[-1], 3])
        connection.execute("INSERT INTO t VALUES (?, ?, ?)", [None, "", int(planted)])
    connection.close()
    hits = search(finder, list(collect_database(database)))
    assert len(hits) == 3, hits
    assert search(finder, list(collect_files(tmp_path))), "raw bytes of the database file"
    assert search(NumberFinder({other}), list(collect_database(database))) == []


# --- the scenario ---------------------------------------------------------------------------------

# Run with ``python -c``: reveal every number of the company as its handler (into the file named
# by argv[1], outside the data directory), then try what must be refused, printing only the
# exception texts. Django's SQL log is forced on, at DEBUG, for both databases.
REVEAL_SCRIPT = r"""
import json
import logging
import sys
from pathlib import Path

import django

django.setup()

from django.db import connections

for alias in connections:
    connections[alias].force_debug_cursor = True
logging.getLogger("django.db.backends").setLevel(logging.DEBUG)
log = logging.getLogger("mnvault.leaktest")

from mnvault.accounts.models import User
from mnvault.companies.models import Company
from mnvault.people.models import Person
from mnvault.domain import numbers
from mnvault.vault.errors import VaultError
from mnvault.vault.services import Verification, reveal_number, store_number

out_path, company_name = sys.argv[1], sys.argv[2]
company = Company.objects.get(name=company_name)


def user(role):
    return User.objects.get(username=f"demo{company.pk}-{role}")


handler = user("handler")
revealed, without = {}, []
for person in Person.objects.filter(company=company).order_by("pk"):
    try:
        revealed[str(person.pk)] = reveal_number(
            acting_user=handler, person=person, purpose="withholding", client_address="127.0.0.1"
        )
    except VaultError as exc:  # no number: refused (no purpose notified) or not stored
        without.append(person)
        print(f"person {person.pk}: {exc}")
        log.info("no number for person %s: %s", person.pk, exc)
Path(out_path).write_text(json.dumps(revealed, sort_keys=True), encoding="utf-8")
print(f"revealed {len(revealed)} numbers; {len(without)} people without one")

someone = Person.objects.get(pk=min(int(pk) for pk in revealed))
existing = revealed[str(someone.pk)]
near = existing[:-1] + str((int(existing[-1]) + 1) % 10)
wide_near = near.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
wide_near = f"{wide_near[:4]}－{wide_near[4:8]}－{wide_near[8:]}"
card = Verification(channel="in_person", document_kinds=["my_number_card"])


def attempt(label, action):
    try:
        action()
    except VaultError as exc:
        print(f"{label}: {exc}")
        log.warning("%s: %s (%r)", label, exc, exc)
        log.debug("%s traceback", label, exc_info=True)
    else:
        print(f"{label}: UNEXPECTEDLY ALLOWED")


for role in ("staff", "company_admin", "auditor"):
    attempt(
        f"reveal as {role}",
        lambda role=role: reveal_number(
            acting_user=user(role), person=someone, purpose="withholding"
        ),
    )
for purpose in ("", "national_pension_3", "marketing"):
    attempt(
        f"reveal for {purpose!r}",
        lambda purpose=purpose: reveal_number(acting_user=handler, person=someone, purpose=purpose),
    )
target = without[0]
for label, who, number in [
    ("store a duplicate", handler, existing),
    ("store a wrong check digit", handler, near),
    ("store a full-width wrong check digit", handler, wide_near),
    ("store as staff", user("staff"), existing),
]:
    attempt(
        label,
        lambda who=who, number=number: store_number(
            acting_user=who,
            person=target,
            number=number,
            purposes=["withholding"],
            verification=card,
        ),
    )
attempt("validate", lambda: numbers.validate(wide_near))
"""


@dataclass
class Scenario:
    installation: Installation
    csv_numbers: set[str]  # in the good file, stored
    rejected_numbers: set[str]  # in the bad file, never stored (valid or not)
    revealed: dict[str, str]  # person id -> number, before rotation
    revealed_after_rotation: dict[str, str]
    reveal_files: list[Path]
    reveal_outputs: list[str] = field(default_factory=list)

    @property
    def used(self) -> set[str]:
        near = {self.near(n) for n in self.revealed.values()}
        return self.csv_numbers | self.rejected_numbers | set(self.revealed.values()) | near

    @staticmethod
    def near(number: str) -> str:
        return number[:-1] + str((int(number[-1]) + 1) % 10)


def _good_rows(rng: random.Random) -> tuple[list[list[str]], set[str]]:
    used, rows = set(), []
    for index in range(10):
        number = numbers.generate_fake(rng)
        used.add(number)
        written = forms(number)[index % len(forms(number))]  # every form, once
        rows.append(
            ["従業員", f"L{index:03d}", "山田", "一郎", "ヤマダ", "イチロウ", "", "", written]
        )
    number = numbers.generate_fake(rng)
    used.add(number)
    # A dependent of a demo employee.
    rows.append(["扶養親族", "", "山田", "二葉", "ヤマダ", "フタバ", "E000000", "子", number])
    rows.append(["従業員", "L100", "山田", "三郎", "ヤマダ", "サブロウ", "", "", ""])  # no number
    return rows, used


def _bad_rows(rng: random.Random, stored: str) -> tuple[list[list[str]], set[str]]:
    fresh = [numbers.generate_fake(rng) for _ in range(4)]
    wrong = Scenario.near(fresh[0])
    wide_wrong = forms(Scenario.near(fresh[1]))[6]  # full-width, spaced
    rows = [
        ["従業員", "M001", "佐藤", "花子", "サトウ", "ハナコ", "", "", wrong],  # check digit
        ["従業員", "M002", "佐藤", "美咲", "サトウ", "ミサキ", "", "", wide_wrong],  # check digit
        ["従業員", "M003", "", "健", "", "ケン", "", "", fresh[2]],  # no family name
        ["従業員", "M004", "佐藤", "翔", "サトウ", "ショウ", "", "", fresh[3]],  # fine alone
        ["従業員", "M005", "佐藤", "結衣", "サトウ", "ユイ", "", "", fresh[3]],  # duplicates line 5
        ["従業員", "M006", "佐藤", "陽菜", "サトウ", "ヒナ", "", "", stored],  # already stored
        [
            "従業員",
            "M007",
            "佐藤",
            "大輔",
            "サトウ",
            "ダイスケ",
            "",
            "",
            fresh[0][:11],
        ],  # 11 digits
        [
            "従業員",
            "M008",
            "佐藤",
            "一郎",
            "サトウ",
            "イチロウ",
            "",
            "",
            fresh[1] + "7",
        ],  # 13 digits
        [
            "従業員",
            "M009",
            "佐藤",
            "二郎",
            "サトウ",
            "ジロウ",
            "",
            "",
            f"{fresh[1][:6]}x{fresh[1][6:]}",
        ],
        [
            "扶養親族",
            "M010",
            "佐藤",
            "三郎",
            "サトウ",
            "サブロウ",
            "L999",
            "子",
            fresh[1],
        ],  # no employee
    ]
    rejected = {*fresh, Scenario.near(fresh[0]), Scenario.near(fresh[1])}
    return rows, rejected


def _reveal(installation: Installation, path: Path, company: str) -> tuple[dict, str]:
    result = installation.python(REVEAL_SCRIPT, str(path), company)
    assert "UNEXPECTEDLY ALLOWED" not in result.out, result.describe()
    return json.loads(path.read_text(encoding="utf-8")), result.out


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Scenario:
    root = tmp_path_factory.mktemp("leak")
    outside = tmp_path_factory.mktemp("leak-outside")  # inputs and the deliberate reveal files
    # The scenario reveals every number, twice (before and after a key rotation): more than
    # the hourly limit of a handler, which its own tests cover (vault/tests/test_reveal_rate).
    installation = Installation(
        root,
        extra_env={
            "MNVAULT_LOG_LEVEL": "DEBUG",
            "MNVAULT_REVEALS_PER_HOUR": "0",
            "MNVAULT_COMPANY_REVEALS_PER_HOUR": "0",
        },
    )
    rng = random.Random(SEED)

    installation.run("init")
    demo = parse_demo(
        installation.run("demo", "--people", str(DEMO_PEOPLE), "--seed", str(SEED)).out
    )
    handler = demo.users["handler"][0]
    target = ("--company", str(demo.company_id), "--user", handler)

    good_rows, csv_numbers = _good_rows(rng)
    good = write_csv(outside / "good.csv", good_rows, HEADER)
    imported = installation.run("import", "people", str(good), *target)
    assert "12人と個人番号11件を取り込みました" in imported.out, imported.describe()

    bad_rows, rejected_numbers = _bad_rows(rng, sorted(csv_numbers)[0])
    bad = write_csv(outside / "bad.csv", bad_rows, HEADER)
    refused = installation.run("import", "people", str(bad), *target, expect=1)
    lines = {int(n) for n in re.findall(r"^(\d+)行目: ", refused.err, re.M)}
    assert lines == {2, 3, 4, 6, 7, 8, 9, 10, 11}, refused.describe()

    before = outside / "revealed-before-rotation.json"
    revealed, out_before = _reveal(installation, before, demo.company_name)

    rotated = installation.run("keys", "rotate")
    assert "KEK k2 is active" in rotated.out
    installation.run("audit", "checkpoint")
    installation.run("audit", "verify")

    after = outside / "revealed-after-rotation.json"
    revealed_after, out_after = _reveal(installation, after, demo.company_name)
    installation.run("audit", "verify")
    installation.run("audit", "export", "--to", str(installation.data / "audit-export.jsonl"))
    installation.run("audit", "public-key")

    return Scenario(
        installation=installation,
        csv_numbers=csv_numbers,
        rejected_numbers=rejected_numbers,
        revealed=revealed,
        revealed_after_rotation=revealed_after,
        reveal_files=[before, after],
        reveal_outputs=[out_before, out_after],
    )


# --- the scenario's own sanity ------------------------------------------------------------------


@pytest.mark.slow
def test_the_reveal_script_did_reveal_and_was_refused(scenario):
    values = set(scenario.revealed.values())
    assert scenario.csv_numbers <= values, "every imported number is revealed in clear"
    assert len(values) >= DEMO_PEOPLE + len(scenario.csv_numbers)
    assert not values & scenario.rejected_numbers, "nothing of the rejected file was stored"
    assert scenario.revealed_after_rotation == scenario.revealed, "rotation kept every number"
    for output in scenario.reveal_outputs:
        assert output.count("事務取扱担当者・責任者だけが個人番号を扱えます") == 4
        assert "利用目的を選んでください" in output
        assert "会社が公表していない利用目的です" in output
        assert "既にこの会社に登録されています" in output
        assert "個人番号のチェックディジットが正しくありません" in output
        assert "本人に通知していない利用目的です" in output
    # The search finds the numbers where they are meant to be: it can fail.
    finder = NumberFinder(scenario.used)
    for path in scenario.reveal_files:
        assert finder.find(path.read_bytes()) == values


@pytest.mark.slow
def test_everything_was_captured(scenario):
    installation = scenario.installation
    reveal_runs = [r for r in installation.results if "-c" in r.args]
    assert len(reveal_runs) == 2
    for run in reveal_runs:
        assert "vault_numberrecord" in run.err, "the SQL log was on"
        assert "args=" in run.err
        assert "Traceback" in run.err, "exception tracebacks were logged"
    with installation.connect("mnvault.sqlite3") as db:
        refusals = db.execute(
            "SELECT count(*) FROM audit_auditentry WHERE outcome = 'refused'"
        ).fetchone()[0]
        reveals = db.execute(
            "SELECT count(*) FROM audit_auditentry WHERE action = 'number.reveal'"
        ).fetchone()[0]
    assert refusals >= 2 * 7
    assert reveals >= 2 * len(scenario.revealed)
    names = {label for label, _ in collect_files(installation.data)}
    assert {
        "file mnvault.sqlite3",
        "file keystore.sqlite3",
        "file mnvault.key",
        "file audit-checkpoints.jsonl",
        "file audit-export.jsonl",
    } <= names


# --- the leak test itself ---------------------------------------------------------------------


@pytest.mark.slow
def test_no_number_in_any_process_output(scenario):
    finder = NumberFinder(scenario.used)
    sources: list[tuple[str, bytes | str]] = []
    for index, result in enumerate(scenario.installation.results):
        name = f"#{index} {' '.join(result.args[1:3]) if '-c' not in result.args else 'reveal'}"
        sources += [
            (f"{name} stdout", result.stdout_bytes),
            (f"{name} stderr", result.stderr_bytes),
        ]
    assert len(sources) >= 2 * 10
    assert search(finder, sources) == []


@pytest.mark.slow
@pytest.mark.parametrize("database", ["mnvault.sqlite3", "keystore.sqlite3"])
def test_no_number_in_any_database_row(scenario, database):
    finder = NumberFinder(scenario.used)
    rows = list(collect_database(scenario.installation.data / database))
    assert rows
    assert search(finder, rows) == []


@pytest.mark.slow
def test_no_number_in_any_file_of_the_data_directory(scenario):
    finder = NumberFinder(scenario.used)
    files = list(collect_files(scenario.installation.data))
    assert search(finder, files) == []
