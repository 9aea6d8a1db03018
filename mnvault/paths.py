"""Where mnvault keeps its files, and the secure way to write a secret file."""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
# The first admin's one-time password when the server's output goes to a log; deleted when
# the admin chooses a password of their own.
INITIAL_PASSWORD_FILE = "initial-admin-password"  # noqa: S105 - a file name


@dataclass(frozen=True)
class Variable:
    """An environment variable mnvault reads: its name, its default as the README shows it,
    and what it does (one line of the README's configuration table)."""

    name: str
    default: str
    meaning: str


# Every environment variable that points mnvault at an installation or changes how it runs
# (settings.py and the CLI read them): the one list of them. The README's configuration
# table is made from it (``python -m mnvault.paths --readme-table``), and a test fails when
# the two differ or when the code reads a variable that is not here.
VARIABLES: tuple[Variable, ...] = (
    Variable(
        "MNVAULT_DATA_DIR",
        "`./mnvault-data`",
        "data directory: SQLite files, key file, secret key, checkpoint file",
    ),
    Variable("DATABASE_URL", "(SQLite)", "e.g. `postgres://user@host:5432/mnvault`"),
    Variable(
        "MNVAULT_KEYSTORE_URL",
        "`<DATABASE_URL>_keys`",
        "the key store database on PostgreSQL ([deployment](docs/deploy.md))",
    ),
    Variable("MNVAULT_KEY_FILE", "`$MNVAULT_DATA_DIR/mnvault.key`", "the key file"),
    Variable(
        "MNVAULT_KEY_PASSPHRASE",
        "(asked at start)",
        "passphrase of a protected key file (`mnvault init --passphrase`)",
    ),
    Variable(
        "MNVAULT_EXPORT_PASSPHRASE",
        "(asked twice)",
        "passphrase of the copy `mnvault keys export` writes, for scripts (a terminal is "
        "asked instead when unset); restore the copy with it as `MNVAULT_KEY_PASSPHRASE`",
    ),
    Variable(
        "MNVAULT_CHECKPOINT_FILE",
        "`$MNVAULT_DATA_DIR/audit-checkpoints.jsonl`",
        "signed checkpoints outside the database; put it on other storage",
    ),
    Variable(
        "MNVAULT_CHECKPOINT_WITNESS_FILE",
        "(none)",
        "a second copy of the signed checkpoints, on storage the server cannot rewrite "
        '(see "Witnesses of the audit log")',
    ),
    Variable(
        "MNVAULT_SIGNING_KEY_FILE",
        "(in the key file)",
        "the audit signing key in a file of its own, away from the data directory and the "
        "key file: then whoever holds those cannot sign a rewritten audit log "
        "([threat model](docs/threat-model.md)); `mnvault init` creates it, or moves the key "
        "there",
    ),
    Variable(
        "MNVAULT_BACKUP_DIR",
        "`$MNVAULT_DATA_DIR/../mnvault-backups`",
        "where `mnvault backup` writes its encrypted archives: another disk or a mounted NAS",
    ),
    Variable(
        "MNVAULT_BACKUP_RECIPIENT",
        "`$MNVAULT_DATA_DIR/backup-recipient.txt`",
        "the age public key (`age1…`) backups are encrypted to; `mnvault backup init-key` "
        "makes the pair and stores only this half",
    ),
    Variable(
        "MNVAULT_BACKUP_AT",
        "`02:00`",
        "local time (HH:MM) after which the scheduler makes the day's backup",
    ),
    Variable(
        "MNVAULT_BACKUP_KEEP_DAILY", "`7`", "daily data backups kept (the newest of each day)"
    ),
    Variable(
        "MNVAULT_BACKUP_KEEP_WEEKLY", "`4`", "weekly data backups kept (the newest of each week)"
    ),
    Variable(
        "MNVAULT_BACKUP_KEEP_MONTHLY",
        "`12`",
        "monthly data backups kept (the newest of each month)",
    ),
    Variable(
        "MNVAULT_KEYSTORE_BACKUP_DAYS",
        "`7`",
        "days a key-store backup is kept: older ones are deleted, a KEK retired by `mnvault "
        "keys rotate` is destroyed after them, and a disposal certificate gives the date they end",
    ),
    Variable("MNVAULT_SECRET_KEY", "(file made by init)", "Django secret key"),
    Variable(
        "MNVAULT_ADMIN_PASSWORD",
        "(asked)",
        "password of the installation admin that `mnvault createadmin` creates",
    ),
    Variable("MNVAULT_ALLOWED_HOSTS", "`127.0.0.1,localhost`", "host names served"),
    Variable(
        "MNVAULT_BEHIND_TLS_PROXY",
        "off",
        "`1` behind a TLS reverse proxy: trust its `X-Forwarded-Proto` and `X-Forwarded-For`, "
        "secure cookies, HSTS",
    ),
    Variable(
        "MNVAULT_TRUSTED_PROXY",
        "`127.0.0.1`",
        "with `MNVAULT_BEHIND_TLS_PROXY=1`: the proxy's address, the only one whose "
        "`X-Forwarded-*` headers are believed",
    ),
    Variable(
        "MNVAULT_CSRF_TRUSTED_ORIGINS",
        "(none)",
        "with `MNVAULT_BEHIND_TLS_PROXY=1`: origins allowed to post forms, comma-separated, "
        "e.g. `https://vault.example.jp`",
    ),
    Variable(
        "MNVAULT_DEBUG",
        "off",
        "`1` for Django's debug pages: for development only, never on a real installation",
    ),
    Variable("MNVAULT_LOG_LEVEL", "`INFO`", "logging level"),
    Variable(
        "MNVAULT_PUBLIC_URL",
        "`http://127.0.0.1:8000`",
        "the address people open invitation links at: for registration from phones, the "
        "TLS reverse proxy's public address ([deployment](docs/deploy.md))",
    ),
    Variable(
        "MNVAULT_OFFICE_NETWORKS",
        "(none: every page from anywhere)",
        "the office networks, comma-separated (e.g. `192.168.1.0/24,2001:db8:1::/48`): a "
        "request from elsewhere reaches only the registration pages (`/r/…`, `/register/…`), "
        "their static files and `/healthz`, and every other page answers 404 "
        "([deployment](docs/deploy.md))",
    ),
    Variable(
        "MNVAULT_SMTP_HOST", "`localhost`", "SMTP server for invitations, reminders and codes"
    ),
    Variable("MNVAULT_SMTP_PORT", "`25`", "its port"),
    Variable("MNVAULT_SMTP_USER", "(none)", "SMTP authentication: user"),
    Variable("MNVAULT_SMTP_PASSWORD", "(none)", "SMTP authentication: password"),
    Variable("MNVAULT_SMTP_STARTTLS", "off", "`1` for STARTTLS"),
    Variable("MNVAULT_SMTP_SSL", "off", "`1` for SMTP over TLS"),
    Variable("MNVAULT_MAIL_FROM", "`mnvault@localhost`", "sender address"),
    Variable("MNVAULT_MAX_DOCUMENT_MB", "`10`", "largest identity-document file accepted"),
    Variable(
        "MNVAULT_LANGUAGE",
        "`ja`",
        "language of the command line's messages, `ja` or `en` (each page follows its "
        "reader's choice)",
    ),
    Variable(
        "MNVAULT_LOCKOUT_FAILURES",
        "`5`",
        "failed sign-ins that lock an account (from an address the user is known at) or "
        "throttle a source for that user name (from elsewhere)",
    ),
    Variable(
        "MNVAULT_LOCKOUT_MINUTES",
        "`15`",
        "how long a lock-out lasts, and the window the sign-in throttle counts failures in",
    ),
    Variable(
        "MNVAULT_SIGNIN_ADDRESS_FAILURES",
        "`20`",
        "failed sign-ins from one address, whatever the user names, before that address is "
        "throttled",
    ),
    Variable(
        "MNVAULT_IDLE_MINUTES_REVEAL",
        "`15`",
        "minutes after which an idle session of a user who can reveal numbers is signed out "
        "(a company may set a shorter one; kept to within a minute)",
    ),
    Variable(
        "MNVAULT_IDLE_MINUTES",
        "`60`",
        "the same for every other user",
    ),
    Variable(
        "MNVAULT_REVEALS_PER_HOUR",
        "`60`",
        "numbers one user (or API client) may be shown in an hour: reveals, and each person "
        "of an export; over it the vault refuses, audited (`0`: no limit)",
    ),
    Variable(
        "MNVAULT_COMPANY_REVEALS_PER_HOUR",
        "`600`",
        "the same for all users of one company together",
    ),
    Variable(
        "MNVAULT_REAUTH_MINUTES",
        "`10`",
        "revealing or exporting a number, or granting or revoking a role, needs the password "
        "or a code given within this many minutes; otherwise the user confirms first",
    ),
    Variable(
        "MNVAULT_PDF_FONT_DIR",
        "(Debian's IPAex font folders)",
        "folder holding `ipaexm.ttf` and `ipaexg.ttf`, the fonts embedded in the statutory "
        "PDFs (Debian packages `fonts-ipaexfont-mincho`, `fonts-ipaexfont-gothic`)",
    ),
)
# Their names: what tests, benches and scripts remove so that a throwaway installation can
# never reach a real one.
INSTALLATION_VARIABLES: tuple[str, ...] = tuple(v.name for v in VARIABLES)


def readme_table() -> str:
    """The README's configuration table, one row per variable."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{v.name}` | {v.default} | {v.meaning} |" for v in VARIABLES]
    return "\n".join(rows) + "\n"


def data_dir() -> Path:
    return Path(os.environ.get("MNVAULT_DATA_DIR", "./mnvault-data")).resolve()


def read_secret_key() -> str:
    """The Django secret created by ``mnvault init``; empty when not yet initialised, so that
    Django refuses any use of it rather than run with a default (healthchecks' habit)."""
    path = data_dir() / SECRET_KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""


def write_private_file(path: Path, data: bytes | bytearray) -> None:
    """Write ``data`` so that no other user can ever read it, no reader sees half a file, and
    the new file survives a power cut once this returns: a fresh temporary file (mode 0600,
    unique name, so two writers never share it) is synced, renamed over the target, and the
    directory synced."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def create_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file only its owner reads (mode 0600), synced; an existing file
    is never replaced (``FileExistsError``), even one that appears meanwhile. A failed write
    leaves no half file behind."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    if os.name != "posix":
        return  # Windows has no directory handles to sync; NTFS journals the rename
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


if __name__ == "__main__":
    if sys.argv[1:] != ["--readme-table"]:
        sys.exit("usage: python -m mnvault.paths --readme-table")
    sys.stdout.write(readme_table())
