"""The ``mnvault`` command line, run as the real console script in a temporary installation
(SQLite, whatever database the rest of the suite uses)."""

from __future__ import annotations

import base64
import json
import random
import re
import sqlite3
import stat
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import translation

from mnvault.cli.tests.runner import (
    DEMO_PEOPLE,
    ENGLISH,
    MNVAULT,
    NOT_INITIALISED_EN,
    NOT_INITIALISED_JA,
    PASSPHRASE,
    Installation,
    free_port,
    parse_demo,
    write_csv,
)
from mnvault.demo import DEMO_ROLES
from mnvault.domain import numbers
from mnvault.vault.keys import KeyFileProvider

pytestmark = pytest.mark.slow

GOOD_PASSWORD = "tulip-cobalt-harbour-91"
WEAK_PASSWORD = "password"


def tables(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {name for (name,) in rows}


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- before init ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--port", "1"],
        ["createadmin", "--username", "x"],
        ["demo", "--people", "1"],
        ["import", "people", "people.csv", "--company", "1", "--user", "someone"],
        ["documents", "kinds"],
        ["audit", "verify"],
        ["keys", "rotate"],
        ["scheduler", "--once"],
    ],
    ids=lambda args: args[0],
)
def test_commands_before_init_exit_2_with_a_message_in_the_chosen_language(fresh, args):
    env = {"MNVAULT_ADMIN_PASSWORD": GOOD_PASSWORD}
    result = fresh.run(*args, expect=2, env=env)
    assert NOT_INITIALISED_JA in result.err
    assert NOT_INITIALISED_EN not in result.err
    assert "Traceback" not in result.err
    english = fresh.run(*args, expect=2, env={**env, **ENGLISH})
    assert NOT_INITIALISED_EN in english.err
    assert NOT_INITIALISED_JA not in english.err
    assert not fresh.key_file.exists()
    assert not (fresh.data / "mnvault.sqlite3").exists()


# --- init -------------------------------------------------------------------------------------


def test_init_creates_private_files_and_separate_databases(fresh):
    result = fresh.run("init")
    assert "データとは別の場所にバックアップしてください" in result.out
    assert "mnvault を初期化しました。" in result.out
    assert "back it up" not in result.out

    assert mode(fresh.data) == 0o700
    for name in ("secret_key", "mnvault.key", "mnvault.sqlite3", "keystore.sqlite3"):
        assert (fresh.data / name).is_file(), name
    for path in fresh.data.iterdir():
        assert mode(path) == 0o600, f"{path.name} has mode {oct(mode(path))}"

    document = fresh.key_document()
    assert document["format"] == "mnvault-keyfile"
    assert list(document["material"]["keks"]) == ["k1"]
    assert document["material"]["active_kek_id"] == "k1"

    with fresh.connect("mnvault.sqlite3") as data, fresh.connect("keystore.sqlite3") as keys:
        data_tables, key_tables = tables(data), tables(keys)
    assert "vault_datakey" in key_tables
    assert "vault_datakey" not in data_tables, "wrapped keys must not live beside the data"
    assert {"vault_numberrecord", "audit_auditentry", "people_person"} <= data_tables
    assert not key_tables & {"vault_numberrecord", "audit_auditentry", "people_person"}


def test_init_speaks_english_when_asked(fresh):
    result = fresh.run("init", env=ENGLISH)
    assert "back it up apart from the data" in result.out
    assert "mnvault is initialised." in result.out
    assert "バックアップ" not in result.out


def test_init_again_keeps_the_key_file_and_secret(initialised):
    key_before = initialised.key_file.read_bytes()
    secret_before = (initialised.data / "secret_key").read_bytes()

    result = initialised.run("init")

    assert "exists, kept as it is" in result.out
    assert "バックアップしてください" not in result.out
    assert initialised.key_file.read_bytes() == key_before
    assert (initialised.data / "secret_key").read_bytes() == secret_before


def test_init_starts_the_checkpoint_file_and_a_fresh_installation_verifies(initialised):
    """The signed genesis line makes a missing or emptied file a failure from then on."""
    path = initialised.data / "audit-checkpoints.jsonl"
    (line,) = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["seq"] == 0
    assert "OK: 0 entries" in initialised.run("audit", "verify", env=ENGLISH).out
    initialised.run("init")
    assert path.read_text(encoding="utf-8").splitlines() == [line]  # written once

    path.unlink()
    initialised.run(
        "createadmin", "--username", "admin2", env={"MNVAULT_ADMIN_PASSWORD": GOOD_PASSWORD}
    )
    failed = initialised.run("audit", "verify", expect=1, env=ENGLISH)
    assert "the checkpoint file" in failed.err and "is missing" in failed.err


def test_init_keeps_the_signing_key_apart_when_asked(fresh, tmp_path):
    """MNVAULT_SIGNING_KEY_FILE: the key in a file of its own; the data directory alone (run
    without the variable) can no longer sign (docs/threat-model.md)."""
    apart = tmp_path / "signing" / "audit.key"
    env = {"MNVAULT_SIGNING_KEY_FILE": str(apart)}
    result = fresh.run("init", env=env)
    assert f"signing key: created {apart}" in result.out
    assert "データディレクトリとも鍵ファイルとも別に保管してください" in result.out
    assert mode(apart) == 0o600
    assert "signing_seed" not in fresh.key_document()["material"]
    admin = {**env, "MNVAULT_ADMIN_PASSWORD": GOOD_PASSWORD}
    fresh.run("createadmin", "--username", "admin2", env=admin)
    assert "signed checkpoint at entry #1" in fresh.run("audit", "checkpoint", env=env).out
    assert "OK: 1 entries" in fresh.run("audit", "verify", env={**env, **ENGLISH}).out

    alone = fresh.run("audit", "checkpoint", expect=2, env=ENGLISH)
    assert "MNVAULT_SIGNING_KEY_FILE" in alone.err and "Traceback" not in alone.err


def test_init_moves_the_signing_key_out_of_the_key_file(initialised, tmp_path):
    seed = initialised.key_document()["material"]["signing_seed"]
    apart = tmp_path / "audit-signing.key"
    result = initialised.run("init", env={"MNVAULT_SIGNING_KEY_FILE": str(apart), **ENGLISH})
    assert f"signing key: moved from the key file to {apart}" in result.out
    assert "signing_seed" not in initialised.key_document()["material"]
    assert json.loads(apart.read_text())["seed"] == seed
    verified = initialised.run("audit", "verify", env={"MNVAULT_SIGNING_KEY_FILE": str(apart)})
    assert "OK" in verified.out  # the genesis line, signed before the move, still holds


# --- passphrase-protected key file --------------------------------------------------------------


@pytest.fixture(scope="session")
def _protected_template(tmp_path_factory) -> Installation:
    template = Installation(tmp_path_factory.mktemp("protected"))
    template.run("init", "--passphrase", env={"MNVAULT_KEY_PASSPHRASE": PASSPHRASE})
    return template


@pytest.fixture
def protected(tmp_path, _protected_template) -> Installation:
    return Installation(tmp_path).copy_from(_protected_template)


def secrets_of(installation: Installation) -> list[str]:
    """Every form in which the key material or the passphrase could show in output."""
    material = KeyFileProvider(installation.key_file, PASSPHRASE).load()
    raw = [*material.keks.values(), material.index_secret, material.signing_seed]
    return [PASSPHRASE] + [
        form for key in raw if key for form in (base64.b64encode(key).decode(), key.hex())
    ]


def test_init_with_passphrase_writes_a_protected_key_file(protected):
    text = protected.key_file.read_text()
    document = protected.key_document()
    assert document["protected"] is True
    assert document["kdf"]["name"] == "argon2id"
    assert "keks" not in text
    assert "material" not in text
    assert "index_secret" not in text
    assert mode(protected.key_file) == 0o600
    # …and the right passphrase opens it.
    assert list(KeyFileProvider(protected.key_file, PASSPHRASE).load().keks) == ["k1"]


def test_wrong_or_missing_passphrase_fails_clearly_and_changes_nothing(protected):
    secrets = secrets_of(protected)
    before = protected.key_file.read_bytes()

    wrong = protected.run(
        "keys", "rotate", expect=None, env={"MNVAULT_KEY_PASSPHRASE": "not the passphrase"}
    )
    missing = protected.run("keys", "rotate", expect=None)

    assert wrong.returncode != 0, wrong.describe()
    assert "パスフレーズが違います。鍵ファイルを開けません。" in wrong.err
    assert missing.returncode != 0, missing.describe()
    assert "鍵ファイルのパスフレーズが必要です。" in missing.err
    for result in (wrong, missing):
        output = result.out + result.err
        assert "not the passphrase" not in output
        for secret in secrets:
            assert secret not in output, "key material or passphrase in the output"
    assert protected.key_file.read_bytes() == before

    unlocked = {"MNVAULT_KEY_PASSPHRASE": PASSPHRASE}
    protected.run("demo", "--people", "3", "--seed", "2", env=unlocked)
    right = protected.run("keys", "rotate", env=unlocked)
    assert re.search(r"KEK k2 is active; [1-9]\d* data keys re-wrapped", right.out), right.out
    document = protected.key_document()
    assert document["protected"] is True, "rotation must keep the key file protected"
    assert "keks" not in protected.key_file.read_text()
    rotated = KeyFileProvider(protected.key_file, PASSPHRASE).load()
    assert rotated.live_kek_ids() == ["k2"] and list(rotated.retired) == ["k1"]
    protected.run("audit", "verify", env=unlocked)


@pytest.mark.parametrize(
    "args", [["keys", "rotate"], ["demo", "--people", "1"], ["audit", "verify"]], ids=str
)
def test_wrong_passphrase_is_reported_without_a_traceback(protected, args):
    result = protected.run(*args, expect=None, env={"MNVAULT_KEY_PASSPHRASE": "not it at all"})
    assert result.returncode != 0, result.describe()
    assert "パスフレーズが違います" in result.err
    assert "Traceback" not in result.err, result.err
    assert "not it at all" not in result.out + result.err


# --- createadmin --------------------------------------------------------------------------------


def test_createadmin_validates_the_password_and_refuses_duplicates(initialised):
    with translation.override("ja"), pytest.raises(ValidationError) as weak:
        validate_password(WEAK_PASSWORD)
    expected = weak.value.messages
    assert expected

    refused = initialised.run(
        "createadmin",
        "--username",
        "x",
        expect=None,
        env={"MNVAULT_ADMIN_PASSWORD": WEAK_PASSWORD},
    )
    assert refused.returncode != 0, refused.describe()
    for message in expected:
        assert message in refused.err
    assert "Traceback" not in refused.err

    created = initialised.run(
        "createadmin", "--username", "x", env={"MNVAULT_ADMIN_PASSWORD": GOOD_PASSWORD}
    )
    assert "created installation admin x" in created.out

    duplicate = initialised.run(
        "createadmin",
        "--username",
        "x",
        expect=None,
        env={"MNVAULT_ADMIN_PASSWORD": GOOD_PASSWORD + "-other"},
    )
    assert duplicate.returncode != 0, duplicate.describe()
    assert "ユーザー x は既にいます" in duplicate.err
    for result in (refused, created, duplicate):
        assert GOOD_PASSWORD not in result.out + result.err

    with initialised.connect("mnvault.sqlite3") as db:
        admins = db.execute(
            "SELECT username, is_installation_admin FROM accounts_user WHERE username = 'x'"
        ).fetchall()
    assert admins == [("x", 1)]
    initialised.run("audit", "verify")


# --- demo -------------------------------------------------------------------------------------


def test_demo_prints_the_users(initialised):
    result = initialised.run("demo", "--people", "30", "--seed", "1")
    demo = parse_demo(result.out)
    assert f"{DEMO_PEOPLE} people" in result.out
    assert set(demo.users) == {str(role) for role in DEMO_ROLES}
    for role, (username, password) in demo.users.items():
        assert username == f"demo{demo.company_id}-{role}"
        assert len(password) >= 12
    with initialised.connect("mnvault.sqlite3") as db:
        people = db.execute(
            "SELECT count(*) FROM people_person WHERE company_id = ? AND kind != 'dependent'",
            [demo.company_id],
        ).fetchone()[0]
    assert people == DEMO_PEOPLE


# --- serve ------------------------------------------------------------------------------------


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _serve(installation: Installation, name: str) -> tuple[int, str]:
    """Start ``mnvault serve``, wait for /healthz, stop it; (status, body) and its stdout."""
    port = free_port()
    out_path = installation.root / f"{name}.out"
    err_path = installation.root / f"{name}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            [str(MNVAULT), "serve", "--port", str(port)],
            cwd=installation.root,
            env=installation.env(),
            stdout=out,
            stderr=err,
        )
        try:
            url = f"http://127.0.0.1:{port}/healthz"
            status, body = 0, ""
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    status, body = _get(url)
                    break
                except OSError:
                    time.sleep(0.1)
            # What the operator sees while the server runs.
            printed = out_path.read_text(encoding="utf-8")
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    assert status == 200, (
        f"no answer from {url}: status {status} {body!r}\n"
        f"stdout: {out_path.read_text()}\nstderr: {err_path.read_text()}"
    )
    assert body.strip() == "ok"
    assert f"http://127.0.0.1:{port}/" in printed
    return port, printed


def test_serve_answers_healthz_and_gives_a_one_time_password_once(initialised):
    """Not on a terminal (a service whose output goes to logs), the password is left in a
    private file named in the output, never printed."""
    _port, first = _serve(initialised, "first")
    password_file = initialised.data / "initial-admin-password"
    assert f"one-time password: (in {password_file})" in first, first
    password = password_file.read_text().strip()
    assert len(password) >= 12 and password not in first
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    with initialised.connect("mnvault.sqlite3") as db:
        admin = db.execute(
            "SELECT is_installation_admin, must_change_password FROM accounts_user "
            "WHERE username = 'admin'"
        ).fetchone()
    assert admin == (1, 1)

    _port, second = _serve(initialised, "second")
    assert "one-time password" not in second
    assert "インストール管理者でサインインしてください" in second


# --- audit and keys ---------------------------------------------------------------------------


def test_audit_verify_passes_on_a_fresh_demo(with_demo):
    installation, _demo = with_demo
    result = installation.run("audit", "verify")
    assert re.search(r"OK: 記録 \d+ 件、.*署名済みチェックポイント \d+ 件が有効", result.out)
    english = installation.run("audit", "verify", env=ENGLISH)
    assert re.search(r"OK: \d+ entries, chain intact, \d+ signed checkpoints hold", english.out)


def test_audit_verify_names_an_altered_entry(with_demo):
    installation, _demo = with_demo
    with installation.connect("mnvault.sqlite3") as db:
        db.execute("UPDATE audit_auditentry SET reason = 'edited' WHERE seq = 2")
    result = installation.run("audit", "verify", expect=1)
    assert "検証失敗: 記録 #2 は書き込み後に改変されています" in result.err
    english = installation.run("audit", "verify", expect=1, env=ENGLISH)
    assert "FAILED: entry #2 was altered" in english.err


def test_audit_verify_in_parallel_processes_finds_the_same_entry(with_demo):
    """Real child processes, one per stretch of the chain (the tamper tests run the stretches
    in one process): an intact chain holds, and an edit is named at the same entry."""
    installation, _demo = with_demo
    result = installation.run("audit", "verify", "--workers", "3", env=ENGLISH)
    assert re.search(r"OK: \d+ entries, chain intact", result.out)
    with installation.connect("mnvault.sqlite3") as db:
        last = db.execute("SELECT MAX(seq) FROM audit_auditentry").fetchone()[0]
        db.execute("UPDATE audit_auditentry SET reason = 'edited' WHERE seq = ?", [last - 1])
    for workers in ("1", "3"):
        failed = installation.run("audit", "verify", "--workers", workers, expect=1, env=ENGLISH)
        assert f"entry #{last - 1} was altered" in failed.err


def test_keys_rotate_rewraps_every_data_key_and_retires_the_old_kek(with_demo):
    installation, _demo = with_demo
    with installation.connect("keystore.sqlite3") as db:
        data_keys = db.execute("SELECT count(*) FROM vault_datakey").fetchone()[0]
    assert data_keys >= DEMO_PEOPLE
    old_index_secret = installation.key_document()["material"]["index_secret"]

    result = installation.run("keys", "rotate")

    match = re.search(r"KEK (\w+) is active; (\d+) data keys re-wrapped", result.out)
    assert match, result.describe()
    assert match[1] == "k2"
    assert int(match[2]) == data_keys
    assert "退役" in result.out and "7 日間" in result.out, result.out
    material = installation.key_document()["material"]
    assert sorted(material["keks"]) == ["k1", "k2"], "k1 kept for older key-store backups"
    assert list(material["retired"]) == ["k1"]
    assert material["active_kek_id"] == "k2"
    assert material["index_secret"] == old_index_secret, "the duplicate index must survive"
    with installation.connect("keystore.sqlite3") as db:
        kek_ids = db.execute("SELECT DISTINCT kek_id FROM vault_datakey").fetchall()
    assert kek_ids == [("k2",)]
    installation.run("audit", "verify")


# --- import -----------------------------------------------------------------------------------


def import_file(installation, demo, path, role: str = "handler", expect: int | None = 0):
    """``mnvault import people PATH`` into the demo company as the demo user of ``role``."""
    return installation.run(
        "import",
        "people",
        str(path),
        "--company",
        str(demo.company_id),
        "--user",
        demo.users[role][0],
        expect=expect,
    )


def test_import_people_all_or_nothing_with_line_numbers(with_demo, tmp_path):
    installation, demo = with_demo
    rng = random.Random(4242)
    good = [numbers.generate_fake(rng) for _ in range(4)]
    fullwidth = good[1].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    hyphenated = f"{good[2][:4]}-{good[2][4:8]}-{good[2][8:]}"
    spaced = f"{good[3][:4]} {good[3][4:8]} {good[3][8:]}"
    good_csv = write_csv(
        tmp_path / "good.csv",
        [
            ["G1", "山田", "太郎", "ヤマダ", "タロウ", "1980-01-01", good[0]],
            ["G2", "山田", "花子", "ヤマダ", "ハナコ", "1981-02-02", fullwidth],
            ["G3", "田中", "健", "タナカ", "ケン", "1982-03-03", hyphenated],
            ["G4", "鈴木", "翔", "スズキ", "ショウ", "1983-04-04", spaced],
        ],
    )
    imported = import_file(installation, demo, good_csv)
    assert "4人と個人番号4件を取り込みました" in imported.out

    new = numbers.generate_fake(rng)
    bad_digit = new[:-1] + str((int(new[-1]) + 1) % 10)
    bad_csv = write_csv(
        tmp_path / "bad.csv",
        [
            ["B1", "佐藤", "美咲", "サトウ", "ミサキ", "1990-05-05", new],  # line 2: fine alone
            ["B2", "佐藤", "結衣", "サトウ", "ユイ", "1990-06-06", bad_digit],  # line 3
            ["B3", "", "大輔", "", "ダイスケ", "1990-07-07", ""],  # line 4: no family name
            ["B4", "伊藤", "陽菜", "イトウ", "ヒナ", "1990-13-40", ""],  # line 5: bad date
            ["B5", "中村", "翔", "ナカムラ", "ショウ", "", new],  # line 6: same as line 2
            ["B6", "渡辺", "健", "ワタナベ", "ケン", "", good[0]],  # line 7: already stored
            ["G1", "高橋", "太郎", "タカハシ", "タロウ", "", ""],  # line 8: code exists
        ],
    )
    rejected = import_file(installation, demo, bad_csv, expect=None)
    assert rejected.returncode != 0, rejected.describe()
    lines = {int(n) for n in re.findall(r"^(\d+)行目: ", rejected.err, re.M)}
    assert lines == {3, 4, 5, 6, 7, 8}, rejected.err
    assert re.search(r"^3行目: .*チェックディジット", rejected.err, re.M)
    assert re.search(r"^4行目: 姓: 必須です", rejected.err, re.M)
    assert re.search(r"^6行目: .*2行目と重複", rejected.err, re.M)
    assert re.search(r"^7行目: .*登録済み", rejected.err, re.M)
    assert "何も登録していません" in rejected.err
    assert "Traceback" not in rejected.err
    for number in (new, bad_digit, good[0]):
        assert number not in rejected.out + rejected.err

    # Nothing of the rejected file was kept: its one good row imports on its own.
    alone = write_csv(tmp_path / "alone.csv", [["B1", "佐藤", "美咲", "サトウ", "ミサキ", "", new]])
    again = import_file(installation, demo, alone)
    assert "1人と個人番号1件を取り込みました" in again.out
    installation.run("audit", "verify")


def test_import_dependent_of_an_employee_on_an_earlier_line(with_demo, tmp_path):
    """The importer's message asks for employees on earlier lines than their dependents; a
    dependent must then find an employee written earlier in the same file (and batch)."""
    installation, demo = with_demo
    path = write_csv(
        tmp_path / "family.csv",
        [["従業員", "F1", "山田", "太郎", ""], ["扶養親族", "", "山田", "花子", "F1", "子"]],
        header=["区分", "社員番号", "姓", "名", "扶養元社員番号", "続柄"],
    )
    result = import_file(installation, demo, path, expect=None)
    assert result.returncode == 0, result.describe()
    assert "2人と個人番号" in result.out


def test_import_by_someone_who_is_not_a_handler_is_refused(with_demo, tmp_path):
    installation, demo = with_demo
    number = numbers.generate_fake(random.Random(99))
    path = write_csv(tmp_path / "one.csv", [["S1", "山田", "太郎", "ヤマダ", "タロウ", "", number]])
    result = import_file(installation, demo, path, role="staff", expect=None)
    assert result.returncode != 0, result.describe()
    assert "事務取扱担当者・責任者だけが個人番号を扱えます" in result.err
    assert number not in result.out + result.err
    with installation.connect("mnvault.sqlite3") as db:
        last = db.execute(
            "SELECT action, outcome, reason FROM audit_auditentry ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        stored = db.execute(
            "SELECT count(*) FROM people_person WHERE employee_code = 'S1'"
        ).fetchone()[0]
    assert last == ("number.import", "refused", "role")
    assert stored == 0


# --- input without a terminal -----------------------------------------------------------------


def test_a_short_passphrase_from_the_environment_is_refused(fresh):
    result = fresh.run("init", "--passphrase", expect=1, env={"MNVAULT_KEY_PASSPHRASE": "short"})
    assert "パスフレーズは12文字以上" in result.err and "Traceback" not in result.err
    assert not fresh.key_file.exists()


def test_init_with_passphrase_and_no_terminal_asks_for_the_variable(fresh):
    result = fresh.run("init", "--passphrase", expect=1)
    assert "MNVAULT_KEY_PASSPHRASE を設定してください" in result.err
    assert "Traceback" not in result.err
    assert not fresh.key_file.exists()


def test_createadmin_without_a_terminal_asks_for_the_variable(initialised):
    result = initialised.run("createadmin", "--username", "z", expect=1)
    assert "MNVAULT_ADMIN_PASSWORD を設定してください" in result.err
    assert "Traceback" not in result.err


def test_password_rules_are_given_in_the_chosen_language(initialised):
    env = {"MNVAULT_ADMIN_PASSWORD": WEAK_PASSWORD}
    result = initialised.run("createadmin", "--username", "z", expect=1, env=env)
    assert "一般的すぎます" in result.err
    assert "This password is too common." not in result.err
    english = initialised.run("createadmin", "--username", "z", expect=1, env={**env, **ENGLISH})
    assert "This password is too common." in english.err
    assert "一般的すぎます" not in english.err
