"""The ``mnvault`` script offers mnvault's own commands and nothing else: Django's and the other
apps' management commands (``flush``, ``dumpdata``, ``shell``, ``changepassword``…) would act on
the data past the vault's checks and the audit log."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.management import get_commands

from mnvault.cli.main import COMMANDS
from mnvault.cli.tests.runner import Installation, free_port

MNVAULT_COMMANDS = {
    "init",
    "serve",
    "scheduler",
    "createadmin",
    "demo",
    "import",
    "documents",
    "audit",
    "keys",
    "networks",
    "certificate",
    "backup",
    "restore",
}
REFUSED_JA = "というコマンドはありません"
REFUSED_EN = "mnvault has no command"
ENGLISH = {"MNVAULT_LANGUAGE": "en"}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# A new password that changepassword would read from standard input without a terminal.
NEW_PASSWORD = b"another-tulip-harbour-57\n" * 2


def listed_commands(output: str) -> list[str]:
    """The names of the command list: the indented lines of ``mnvault help``."""
    return [line.split()[0] for line in output.splitlines() if line.startswith("  ")]


def files_of(installation: Installation) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in installation.data.iterdir()}


def count(installation: Installation, sql: str, *params) -> int:
    with installation.connect("mnvault.sqlite3") as connection:
        return connection.execute(sql, params).fetchone()[0]


def password_hash(installation: Installation, username: str) -> str:
    with installation.connect("mnvault.sqlite3") as connection:
        row = connection.execute(
            "SELECT password FROM accounts_user WHERE username = ?", [username]
        )
        return row.fetchone()[0]


def test_the_allow_list_is_the_commands_of_mnvault_cli():
    """Each command module is offered, and each name runs mnvault's command, not another
    app's of the same name (Django gives the first app in INSTALLED_APPS the name)."""
    modules = Path(__file__).resolve().parents[1] / "management" / "commands"
    defined = {path.stem for path in modules.glob("*.py") if not path.stem.startswith("_")}
    assert set(COMMANDS) == defined == MNVAULT_COMMANDS
    assert {name: get_commands()[name] for name in COMMANDS} == dict.fromkeys(
        COMMANDS, "mnvault.cli"
    )


@pytest.mark.slow
@pytest.mark.parametrize("args", [[], ["help"], ["--help"], ["-h"]], ids=" ".join)
def test_help_lists_only_mnvault_commands(fresh, args):
    result, english = fresh.run(*args), fresh.run(*args, env=ENGLISH)
    for shown in (result, english):
        assert set(listed_commands(shown.out)) == MNVAULT_COMMANDS
        assert len(listed_commands(shown.out)) == len(MNVAULT_COMMANDS)
        assert "flush" not in shown.out
    # One language at a time: Japanese by default, English when asked for.
    for line in result.out.splitlines():
        if line.startswith("  "):
            assert JAPANESE.search(line), f"no Japanese description: {line!r}"
    assert "使い方" in result.out and "Usage:" not in result.out
    assert "Usage: mnvault COMMAND [OPTIONS]" in english.out
    assert not JAPANESE.search(english.out), english.out
    assert not fresh.data.exists(), "help needs no installation and creates none"


@pytest.mark.slow
def test_help_on_one_command_still_shows_its_options(fresh):
    assert "--passphrase" in fresh.run("help", "init").out
    assert "--no-scheduler" in fresh.run("serve", "--help").out


@pytest.mark.slow
@pytest.mark.parametrize("args", [["nosuch"], ["help", "flush"], ["version"], ["--version"]])
def test_an_unknown_name_is_refused_in_either_language_with_the_list(fresh, args):
    result, english = fresh.run(*args, expect=2), fresh.run(*args, expect=2, env=ENGLISH)
    name = args[-1]
    assert f"mnvault に `{name}` {REFUSED_JA}" in result.err.splitlines()[0]
    assert f"{REFUSED_EN} `{name}`" in english.err.splitlines()[0]
    for shown in (result, english):
        assert set(listed_commands(shown.err)) == MNVAULT_COMMANDS
        assert shown.out == ""
        assert "Traceback" not in shown.err


@pytest.fixture
def demo_installation(with_demo, tmp_path):
    installation, demo = with_demo
    handler = demo.users["handler"][0]
    fixture = tmp_path / "fixture.json"
    fixture.write_text(
        json.dumps([{"model": "auth.group", "pk": 77, "fields": {"name": "loaded"}}]),
        encoding="utf-8",
    )
    return installation, handler, fixture


# Each with what it would need to do harm; {handler}, {fixture} and {port} are filled in.
DANGEROUS = {
    "changepassword": ["changepassword", "{handler}"],
    "createsuperuser": [
        "createsuperuser",
        "--no-input",
        "--username",
        "intruder",
        "--email",
        "i@x.example",
    ],
    "addstatictoken": ["addstatictoken", "{handler}"],
    "flush": ["flush", "--no-input"],
    "loaddata": ["loaddata", "{fixture}"],
    "dumpdata": ["dumpdata", "--output", "dump.json"],
    "shell": ["shell", "-c", "open('touched', 'w').close()"],
    "dbshell": ["dbshell"],
    "sqlflush": ["sqlflush"],
    "migrate": ["migrate", "scheduler", "zero", "--no-input"],
    "runserver": ["runserver", "--noreload", "127.0.0.1:{port}"],
    "sendtestemail": ["sendtestemail", "someone@example.com"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DANGEROUS))
def test_djangos_dangerous_commands_are_refused_and_change_nothing(demo_installation, name):
    installation, handler, fixture = demo_installation
    before = files_of(installation)
    audit_rows = count(installation, "SELECT count(*) FROM audit_auditentry")
    password = password_hash(installation, handler)
    assert audit_rows > 0

    result = installation.run(
        *(
            arg.format(handler=handler, fixture=fixture, port=free_port())
            for arg in DANGEROUS[name]
        ),
        expect=2,
        env={"DJANGO_SUPERUSER_PASSWORD": "tulip-cobalt-harbour-91"},
        # what changepassword, dbshell or shell would read without a terminal
        stdin=NEW_PASSWORD if name == "changepassword" else b"DELETE FROM audit_auditentry;\n",
        timeout=30,
    )

    assert f"mnvault に `{name}` {REFUSED_JA}" in result.err.splitlines()[0]
    assert result.out == "", "nothing of the data is written out"
    assert files_of(installation) == before
    assert count(installation, "SELECT count(*) FROM audit_auditentry") == audit_rows
    assert password_hash(installation, handler) == password
    assert count(installation, "SELECT count(*) FROM accounts_user WHERE is_superuser") == 0
    assert not (installation.root / "dump.json").exists()
    assert not (installation.root / "touched").exists()


@pytest.mark.slow
def test_every_other_management_command_is_refused(fresh):
    others = sorted(set(get_commands()) - MNVAULT_COMMANDS)
    assert {"flush", "dumpdata", "shell", "changepassword", "migrate"} <= set(others)
    for name in others:
        result = fresh.run(name, expect=2)
        assert f"mnvault に `{name}` {REFUSED_JA}" in result.err, result.describe()
    assert not fresh.data.exists()


@pytest.mark.slow
def test_init_again_applies_the_migrations_an_upgrade_brings(initialised):
    """There is no `mnvault migrate`: after an upgrade, `mnvault init` applies the new
    migrations and keeps the key file and the secret key."""
    initialised.python(
        "import django; django.setup(); from django.core.management import call_command; "
        "call_command('migrate', 'scheduler', 'zero', verbosity=0)"
    )
    key_before = initialised.key_file.read_bytes()
    secret_before = (initialised.data / "secret_key").read_bytes()
    scheduler_tables = "SELECT count(*) FROM sqlite_master WHERE name LIKE 'scheduler_%'"
    assert count(initialised, scheduler_tables) == 0, "the installation is behind the code"

    initialised.run("init")

    assert count(initialised, scheduler_tables) > 0
    assert initialised.key_file.read_bytes() == key_before
    assert (initialised.data / "secret_key").read_bytes() == secret_before
    assert count(initialised, "SELECT count(*) FROM django_migrations WHERE app = 'scheduler'")
