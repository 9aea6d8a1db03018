"""``mnvault backup verify`` (the restore drill) on an installation whose key file is protected
by a passphrase (``mnvault init --passphrase``): each step of the drill is a process of its
own that must open the key file too. With ``MNVAULT_KEY_PASSPHRASE`` the drill passes; typed
at the terminal, it is asked once and passed on to the steps in their environment; with
neither, it fails at once with a plain message instead of waiting for an answer no one can
give. The passphrase is never on a command line."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest

from mnvault.backup.tests.test_backup_restore import key_pair, take_backup
from mnvault.cli.tests.runner import ENGLISH, MNVAULT, PASSPHRASE, Installation

UNLOCKED = {"MNVAULT_KEY_PASSPHRASE": PASSPHRASE}
PEOPLE = 5


@pytest.fixture(scope="module")
def _protected_template(tmp_path_factory) -> tuple[Installation, Path, Path, Path]:
    template = Installation(tmp_path_factory.mktemp("protected"), extra_env=dict(UNLOCKED))
    template.run("init", "--passphrase")
    template.run("demo", "--people", str(PEOPLE), "--seed", "1")
    private = key_pair(template)
    data, keys = take_backup(template, template.root / "backups")
    return template, private, data, keys


@pytest.fixture
def protected(_protected_template, tmp_path) -> tuple[Installation, list[str], Path]:
    """A copy of the protected installation, the drill's arguments, and its TMPDIR."""
    template, private, data, keys = _protected_template
    inst = Installation(tmp_path).copy_from(template)
    args = ["backup", "verify", str(data), "--keys", str(keys), "--private-key", str(private)]
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return inst, args, tmp


def test_the_drill_passes_with_the_passphrase_in_the_environment(protected):
    inst, args, tmp = protected
    assert inst.key_document()["protected"]
    done = inst.run(*args, env={**ENGLISH, **UNLOCKED, "TMPDIR": str(tmp)}, timeout=300)
    assert "restored: yes" in done.out and "audit log verified: yes" in done.out
    assert f"numbers opened: {PEOPLE} of {PEOPLE} sampled" in done.out, done.out
    assert "The restore drill passed" in done.out
    assert PASSPHRASE not in done.out + done.err
    assert list(tmp.iterdir()) == []


def test_without_the_passphrase_or_a_terminal_it_fails_plainly_at_once(protected):
    inst, args, tmp = protected
    done = inst.run(
        *args,
        env={**ENGLISH, "MNVAULT_KEY_PASSPHRASE": None, "TMPDIR": str(tmp)},
        expect=2,
        timeout=60,  # no step may wait for an answer
    )
    assert "The key file needs its passphrase." in done.err
    assert list(tmp.iterdir()) == []


def wait_for_prompt(process: subprocess.Popen, prompt: bytes, timeout: float = 60) -> bytes:
    """Its standard error up to the prompt: only then is the answer typed, since the prompt
    flushes what was typed before it."""
    assert process.stderr is not None
    seen, deadline = b"", time.monotonic() + timeout
    while prompt not in seen:
        ready, _w, _x = select.select([process.stderr], [], [], deadline - time.monotonic())
        chunk = os.read(process.stderr.fileno(), 4096) if ready else b""
        assert chunk, f"no prompt: {seen!r}"
        seen += chunk
    return seen


def test_a_passphrase_typed_at_the_terminal_is_asked_once_and_reaches_every_step(protected):
    """The drill's steps have no terminal: without the passphrase passed on they would ask
    again where no one can answer, and wait."""
    inst, args, tmp = protected
    master, terminal = pty.openpty()
    try:
        drill = subprocess.Popen(
            [str(MNVAULT), *args],
            cwd=inst.root,
            env=inst.env(**ENGLISH, MNVAULT_KEY_PASSPHRASE=None, TMPDIR=str(tmp)),
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # not the terminal this test may run in
        )
        try:
            asked = wait_for_prompt(drill, b"passphrase: ")
            os.write(master, (PASSPHRASE + "\n").encode())
            out, err = drill.communicate(timeout=120)
        finally:
            drill.kill()
    finally:
        os.close(terminal)
        os.close(master)
    text = out.decode() + (asked + err).decode()
    assert drill.returncode == 0, text
    assert text.count("Key file passphrase") == 1
    assert PASSPHRASE not in text
    assert f"numbers opened: {PEOPLE} of {PEOPLE} sampled" in text
    assert list(tmp.iterdir()) == []
