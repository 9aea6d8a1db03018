"""The exported audit log: written with its checkpoints, verified without the database against
the key the auditor was given, and every kind of tampering with the file caught and named."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.utils import translation

from mnvault.audit import witness
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.checkpoints import public_key, public_key_hex, write_checkpoint
from mnvault.audit.export import FORMAT, ExportRefused, verify_export, write_export
from mnvault.audit.log import entry_hash, hashed_fields
from mnvault.audit.models import GENESIS_HASH, AuditEntry, Outcome
from mnvault.audit.tests.tampering import CHAIN_LENGTH, K, append
from mnvault.conftest import ALL_DATABASES
from mnvault.oversight.log_export import export_log

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

Lines = list[dict]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def exported(tmp_path) -> Path:
    """A chain of CHAIN_LENGTH entries with a checkpoint in the middle, exported as the
    command does (its own record is the last entry)."""
    append(K)
    write_checkpoint()
    append(CHAIN_LENGTH - K, start=K)
    path = tmp_path / "audit-export.jsonl"
    export_log(actor=Actor.system("test"), path=path)
    return path


def read(path: Path) -> Lines:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write(path: Path, lines: Lines) -> None:
    text = "".join(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")


def entries(lines: Lines) -> Lines:
    return [line for line in lines if line.get("type") == "entry"]


def line_of(lines: Lines, seq: int) -> int:
    """The file's line number of entry #seq."""
    return next(
        i for i, line in enumerate(lines, 1) if line.get("type") == "entry" and line["seq"] == seq
    )


def rehash_from(lines: Lines, seq: int) -> None:
    """What a forger who knows the scheme does to the file: every hash from #seq recomputed."""
    prev = GENESIS_HASH
    for line in entries(lines):
        if line["seq"] >= seq:
            line["prev_hash"] = prev
            line["entry_hash"] = entry_hash(prev, hashed_fields({**line, "created_at": _at(line)}))
        prev = line["entry_hash"]


def _at(line: dict) -> datetime:
    return datetime.fromisoformat(line["created_at"])


def verified(path: Path, key=None, **options):
    return verify_export(path, key or public_key(), **options)


# --- writing ---------------------------------------------------------------------------------


def test_the_export_holds_the_whole_chain_under_a_final_checkpoint(exported):
    lines = read(exported)
    header, *rest = lines
    total = CHAIN_LENGTH + 1  # and the export's own record
    key = public_key()
    assert header["format"] == FORMAT and header["version"] == 1
    assert (header["entries"], header["checkpoints"]) == (total, 2)
    assert header["public_key"] == public_key_hex(key)
    assert header["key_fingerprint"] == witness.fingerprint(key)
    assert [line["type"] for line in rest] == ["checkpoint"] * 2 + ["entry"] * total
    assert [line["seq"] for line in rest[:2]] == [K, total]
    assert [line["seq"] for line in entries(lines)] == list(range(1, total + 1))
    last = entries(lines)[-1]
    assert (last["action"], last["actor_label"]) == (Action.AUDIT_EXPORT, "test")
    assert rest[1]["entry_hash"] == last["entry_hash"]
    assert oct(exported.stat().st_mode & 0o777) == "0o600"


def test_the_export_is_recorded(exported):
    entry = AuditEntry.objects.filter(action=Action.AUDIT_EXPORT).get()
    assert (entry.outcome, entry.actor_label, entry.company_id) == (Outcome.OK, "test", None)
    assert entry.detail == {"scope": "installation"}


def test_an_entry_that_looks_like_a_number_stops_the_export_and_leaves_no_file(
    tmp_path, make_number
):
    append(3)
    AuditEntry.objects.filter(seq=2).update(reason=make_number())  # past audit.record
    path = tmp_path / "exports" / "out.jsonl"
    with pytest.raises(ExportRefused) as refused:
        export_log(actor=Actor.system("test"), path=path)
    assert refused.value.seq == 2
    assert list(path.parent.iterdir()) == []
    failed = AuditEntry.objects.order_by("-seq").first()
    assert failed is not None
    assert (failed.action, failed.outcome, failed.reason) == (
        Action.AUDIT_EXPORT,
        Outcome.FAILED,
        "export_failed",
    )


def test_a_log_of_one_entry_exports_and_verifies(tmp_path):
    assert write_checkpoint() is None  # nothing to sign yet
    append(1)
    last = write_checkpoint()
    assert last is not None
    path = tmp_path / "one.jsonl"
    assert write_export(path, last=last).entries == 1
    assert verified(path).ok


# --- verifying -------------------------------------------------------------------------------


def test_an_intact_export_verifies_without_the_database(exported, django_assert_num_queries):
    with django_assert_num_queries(0):
        result = verified(exported)
    assert result.ok, result.message
    total = CHAIN_LENGTH + 1
    assert result.message.startswith(
        f"OK: {total} entries in audit-export.jsonl, chain intact, 2 signed checkpoints hold "
        f"(the last: #{total}, signed "
    )


def test_an_export_verified_with_another_key_fails(exported):
    other = Ed25519PrivateKey.generate().public_key()
    result = verified(exported, key=other)
    assert not result.ok
    assert "audit-export.jsonl line 2: the signature does not hold under the key given" in (
        result.message
    )


def _edit(seq: int, **change) -> Callable[[Lines], None]:
    def edit(lines: Lines) -> None:
        next(line for line in entries(lines) if line["seq"] == seq).update(change)

    return edit


def _drop(seq: int) -> Callable[[Lines], None]:
    def drop(lines: Lines) -> None:
        lines.remove(next(line for line in entries(lines) if line["seq"] == seq))

    return drop


def _swap(lines: Lines) -> None:
    a, b = line_of(lines, K) - 1, line_of(lines, K + 1) - 1
    lines[a], lines[b] = lines[b], lines[a]


def _rewrite(lines: Lines) -> None:
    _edit(K + 2, action="test.rewritten")(lines)
    rehash_from(lines, K + 2)


def _rewrite_and_fix_checkpoint(lines: Lines) -> None:
    """The forger also puts the new head in the last checkpoint (without the key)."""
    _rewrite(lines)
    lines[2]["entry_hash"] = entries(lines)[-1]["entry_hash"]


def _rewrite_before_a_checkpoint(lines: Lines) -> None:
    _edit(2, detail={"i": "rewritten"})(lines)
    rehash_from(lines, 2)


def _cut_tail(lines: Lines) -> None:
    for _ in range(3):
        lines.remove(entries(lines)[-1])
    lines[0]["entries"] -= 3


def _cut_tail_and_its_checkpoint(lines: Lines) -> None:
    _cut_tail(lines)
    del lines[2]
    lines[0]["checkpoints"] -= 1


TOTAL = CHAIN_LENGTH + 1


@pytest.mark.parametrize(
    ("tamper", "seq", "words"),
    [
        pytest.param(_edit(K, action="number.reveal"), K, ["entry #7 was altered"], id="edited"),
        pytest.param(_edit(3, outcome="ok", reason=""), 3, ["#3 was altered"], id="outcome"),
        pytest.param(
            _edit(5, created_at="2020-01-01T00:00:00.000000+00:00"), 5, ["altered"], id="time"
        ),
        pytest.param(_edit(4, entry_hash="ab" * 32), 4, ["#4 was altered"], id="hash"),
        pytest.param(_drop(K), K, ["entry #7 is missing"], id="deleted"),
        pytest.param(_drop(1), 1, ["entry #1 is missing"], id="first deleted"),
        pytest.param(_swap, K, ["entry #7 is missing"], id="swapped"),
        pytest.param(
            _rewrite,
            TOTAL,
            [f"entry #{TOTAL} differs from audit-export.jsonl line 3"],
            id="rewrite",
        ),
        pytest.param(
            _rewrite_and_fix_checkpoint,
            None,
            ["line 3: the signature does not hold"],
            id="rewrite and checkpoint",
        ),
        pytest.param(
            _rewrite_before_a_checkpoint,
            K,
            [f"entry #{K} differs from audit-export.jsonl line 2"],
            id="rewrite before the middle checkpoint",
        ),
        pytest.param(
            _cut_tail,
            TOTAL - 2,
            [f"entries #{TOTAL - 2} to #{TOTAL} are missing: audit-export.jsonl line 3"],
            id="tail cut",
        ),
        pytest.param(
            _cut_tail_and_its_checkpoint,
            K + 1,
            [f"entries after #{K} are covered by no signed checkpoint"],
            id="tail and its checkpoint cut",
        ),
        pytest.param(
            lambda lines: lines[0].update(entries=TOTAL + 1),
            TOTAL + 1,
            ["header announces"],
            id="header count",
        ),
        pytest.param(
            lambda lines: lines.pop(),
            TOTAL,
            [f"entries #{TOTAL} to #{TOTAL} are missing"],
            id="last entry cut",
        ),
        pytest.param(
            lambda lines: lines.append(dict(lines[1])), TOTAL + 1, ["not an entry"], id="appended"
        ),
        pytest.param(
            lambda lines: lines[0].update(format="csv"),
            None,
            ["not an mnvault audit export"],
            id="header",
        ),
        pytest.param(
            lambda lines: lines[1].update(signature="00" * 64),
            None,
            ["line 2: the signature does not hold"],
            id="checkpoint signature",
        ),
        pytest.param(
            lambda lines: lines[1].pop("signature"), None, ["line 2: not a readable"], id="field"
        ),
    ],
)
def test_tampering_with_the_export_is_caught(exported, tamper, seq, words):
    lines = read(exported)
    tamper(lines)
    write(exported, lines)
    result = verified(exported)
    assert not result.ok, "tampering went unnoticed"
    assert result.first_bad_seq == seq, result.message
    for word in words:
        assert word in result.message


@pytest.mark.parametrize(
    "damage",
    [lambda text: text[: len(text) // 2], lambda text: text.replace("{", "[", 5)],
    ids=["cut mid-line", "not objects"],
)
def test_a_damaged_file_is_caught(exported, damage):
    exported.write_text(damage(exported.read_text(encoding="utf-8")), encoding="utf-8")
    assert not verified(exported).ok


def test_a_file_cut_back_to_an_earlier_checkpoint_is_caught_by_a_witness(exported, tmp_path):
    """Cut at a checkpoint with the header fixed, the file is a consistent earlier export; a
    digest of a later checkpoint, kept by a witness, shows it is not the whole log."""
    lines = read(exported)
    mail = tmp_path / "mail.txt"
    latest = witness.latest_signed()
    assert latest is not None
    mail.write_text(witness.digest(latest), encoding="utf-8")
    kept = [lines[0], lines[1], *entries(lines)[:K]]
    kept[0] = {**lines[0], "entries": K, "checkpoints": 1}
    write(exported, kept)
    assert verified(exported).ok
    result = verified(exported, witnessed=[("mail.txt", witness.read_witnesses(mail))])
    assert not result.ok
    assert f"entries #{K + 1} to #{TOTAL} are missing: mail.txt line 1" in result.message


def test_a_witness_that_matches_the_export_holds(exported, tmp_path):
    mail = tmp_path / "mail.txt"
    latest = witness.latest_signed()
    assert latest is not None
    mail.write_text(witness.digest(latest), encoding="utf-8")
    assert verified(exported, witnessed=[("mail.txt", witness.read_witnesses(mail))]).ok


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def verification_key(tmp_path) -> Path:
    out = io.StringIO()
    call_command("audit", "public-key", stdout=out)
    path = tmp_path / "audit-key.txt"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def test_cli_exports_and_verifies_the_export(tmp_path, verification_key):
    append(CHAIN_LENGTH)
    path = tmp_path / "export.jsonl"
    out = io.StringIO()
    call_command("audit", "export", "--to", str(path), stdout=out)
    assert f"Exported {CHAIN_LENGTH + 1} entries and 1 signed checkpoints" in out.getvalue()

    for key in (str(verification_key), public_key_hex(public_key())):
        out = io.StringIO()
        call_command("audit", "verify", "--export", str(path), "--public-key", key, stdout=out)
        assert f"Verifying with the key {witness.fingerprint(public_key())}" in out.getvalue()
        assert f"OK: {CHAIN_LENGTH + 1} entries in export.jsonl, chain intact" in out.getvalue()

    lines = read(path)
    _edit(K, reason="edited")(lines)
    write(path, lines)
    err = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command(
            "audit",
            "verify",
            "--export",
            str(path),
            "--public-key",
            str(verification_key),
            stdout=io.StringIO(),
            stderr=err,
        )
    assert exited.value.code == 1
    assert (
        f"FAILED: export.jsonl line {line_of(lines, K)}: entry #{K} was altered" in err.getvalue()
    )


def test_cli_export_is_verified_against_witnesses_too(tmp_path, verification_key):
    append(3)
    path = tmp_path / "export.jsonl"
    call_command("audit", "export", "--to", str(path), stdout=io.StringIO())
    mail = tmp_path / "mail.txt"
    latest = witness.latest_signed()
    assert latest is not None
    mail.write_text(witness.digest(latest), encoding="utf-8")
    out = io.StringIO()
    call_command(
        "audit",
        "verify",
        "--export",
        str(path),
        "--public-key",
        str(verification_key),
        "--witness",
        str(mail),
        stdout=out,
    )
    assert "OK: 4 entries" in out.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--export", "x.jsonl"], "--export needs --public-key"),
        (["--export", "x.jsonl", "--public-key", "no-such-key"], "No Ed25519 public key"),
        (["--public-key", "ab" * 32], "--public-key is used with --export"),
    ],
)
def test_cli_verify_refuses_bad_options(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("audit", "verify", *args)


def test_cli_export_refuses_a_log_holding_a_number(tmp_path, make_number):
    append(2)
    AuditEntry.objects.filter(seq=1).update(reason=make_number())
    with pytest.raises(CommandError, match="Entry #1 looks like it holds an individual number"):
        call_command("audit", "export", "--to", str(tmp_path / "out.jsonl"))
    assert not (tmp_path / "out.jsonl").exists()
