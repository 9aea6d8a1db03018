"""Running the real ``mnvault`` console script in a throw-away installation.

Every command runs as a subprocess with its own environment: ``MNVAULT_DATA_DIR`` points into
the test's temporary directory and every variable that could reach a real installation or the
PostgreSQL test server (``DATABASE_URL`` among them) is removed, so these tests run on SQLite
whatever the suite itself runs on.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mnvault.paths import INSTALLATION_VARIABLES

MNVAULT = Path(sys.executable).parent / "mnvault"

# Variables of the calling environment that must never leak into a test installation.
SCRUBBED = INSTALLATION_VARIABLES

NOT_INITIALISED_JA = "初期化されていません。先に `mnvault init` を実行してください"
NOT_INITIALISED_EN = "Not initialised: run `mnvault init` first."
ENGLISH = {"MNVAULT_LANGUAGE": "en"}  # the command line speaks Japanese unless asked
DEMO_PEOPLE = 30  # in the shared demo installation of the conftest
PASSPHRASE = "a long test passphrase, not real"
CSV_HEADER = ["社員番号", "姓", "名", "セイ", "メイ", "生年月日", "個人番号"]


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout_bytes: bytes
    stderr_bytes: bytes

    @property
    def out(self) -> str:
        return self.stdout_bytes.decode("utf-8", errors="replace")

    @property
    def err(self) -> str:
        return self.stderr_bytes.decode("utf-8", errors="replace")

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.args)}\nexit {self.returncode}\n"
            f"--- stdout\n{self.out}\n--- stderr\n{self.err}"
        )


@dataclass
class Installation:
    """A data directory under a temporary root, and every command run against it."""

    root: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def key_file(self) -> Path:
        return self.data / "mnvault.key"

    def env(self, **extra: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        env.update(
            {
                "MNVAULT_DATA_DIR": str(self.data),
                "DJANGO_SETTINGS_MODULE": "mnvault.settings",
                "PYTHONIOENCODING": "utf-8",
            }
        )
        for key, value in {**self.extra_env, **extra}.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def _run(
        self, args: list[str], expect: int | None, env: dict, timeout: float, stdin: bytes
    ) -> Result:
        done = subprocess.run(
            args,
            cwd=self.root,
            env=self.env(**env),
            input=stdin,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        result = Result(args, done.returncode, done.stdout, done.stderr)
        self.results.append(result)
        if expect is not None:
            assert result.returncode == expect, result.describe()
        return result

    def run(
        self,
        *args: str,
        expect: int | None = 0,
        env: dict | None = None,
        timeout: float = 60,
        stdin: bytes = b"",
    ) -> Result:
        """``mnvault ARGS``; asserts the exit status unless ``expect`` is None."""
        return self._run([str(MNVAULT), *args], expect, env or {}, timeout, stdin)

    def python(
        self, code: str, *args: str, expect: int | None = 0, env: dict | None = None
    ) -> Result:
        """``python -c CODE ARGS`` with the installation's environment."""
        return self._run([sys.executable, "-c", code, *args], expect, env or {}, 60, b"")

    def copy_from(self, template: Installation) -> Installation:
        shutil.copytree(template.data, self.data)
        return self

    @contextmanager
    def connect(self, name: str) -> Iterator[sqlite3.Connection]:
        """One of the installation's SQLite databases; committed and closed on exit."""
        connection = sqlite3.connect(self.data / name)
        try:
            with connection:
                yield connection
        finally:
            connection.close()

    def key_document(self) -> dict:
        return json.loads(self.key_file.read_bytes())


@dataclass(frozen=True)
class Demo:
    company_id: int
    company_name: str
    users: dict[str, tuple[str, str]]  # role -> (username, password)


_COMPANY = re.compile(r"demo company (?P<name>.+) \(id (?P<id>\d+)\): (?P<people>\d+) people")
_USER = re.compile(r"^\s+(?P<role>\w+)\s+user: (?P<user>\S+)\s+password: (?P<password>\S+)$", re.M)


def parse_demo(output: str) -> Demo:
    company = _COMPANY.search(output)
    assert company, output
    users = {m["role"]: (m["user"], m["password"]) for m in _USER.finditer(output)}
    return Demo(int(company["id"]), company["name"], users)


def write_csv(path: Path, rows: Iterable[Sequence[str]], header: Sequence[str] = CSV_HEADER):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
