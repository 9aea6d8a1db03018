"""``mnvault serve``: the app under waitress, a production WSGI server that runs the same on
the office PC (Windows included) and behind a firm's reverse proxy."""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, close_old_connections
from django.utils.translation import gettext as _

from mnvault.accounts.models import User
from mnvault.accounts.services import create_installation_admin
from mnvault.audit import restores
from mnvault.audit.witness import sign_and_witness
from mnvault.cli import setup
from mnvault.collection.document_files import max_document_bytes
from mnvault.paths import INITIAL_PASSWORD_FILE, write_private_file
from mnvault.scheduler import heartbeat, jobs
from mnvault.scheduler.runner import SchedulerLoop, error_name
from mnvault.scheduler.tasks import TaskWorker

log = logging.getLogger("mnvault.serve")


def _checkpoint_loop(stop: threading.Event, interval: float) -> None:
    """Sign the audit head at start and then periodically, so a rewritten table is caught,
    and copy it to the witness file if one is set (docs/architecture.md, "Audit log"). Each
    round is recorded (``scheduler.heartbeat``): a loop that fails or falls behind makes
    ``/healthz`` answer 503 and the dashboard warn."""
    every = timedelta(seconds=interval)
    while True:
        try:
            heartbeat.started(heartbeat.CHECKPOINTS, every=every)
            break
        except Exception as error:  # the database away at start: try again later
            log.error("audit checkpoint loop: %s", error_name(error))
            if stop.wait(interval):
                return
        finally:
            close_old_connections()
    finished: list[bool] = []
    while True:
        try:
            heartbeat.run(heartbeat.CHECKPOINTS, lambda: _round(finished))
        except Exception as error:  # not even the failure could be recorded
            log.error("audit checkpoint not recorded: %s", error_name(error))
        finally:
            close_old_connections()
        if stop.wait(interval):
            return


def _round(finished: list[bool]) -> object:
    """A round of the loop; until it has once worked, it first finishes a restore cut short
    between its audit entry and its restore line (``audit.restores.finish_pending``): a
    checkpoint signed before that line would stand among the lost entries' checkpoints."""
    if not finished:
        restores.finish_pending()
        finished.append(True)
    return sign_and_witness()


def body_options() -> dict:
    """Keep request bodies in memory: by default waitress spools a body over 512 KiB to a
    temporary file, which would put a photo of an identity document on disk in clear before
    it is encrypted. A body up to twice the document limit gets the page's own message; a
    larger one is refused by waitress (413)."""
    limit = 2 * max_document_bytes() + 2**20
    return {"inbuf_overflow": limit, "max_request_body_size": limit}


def proxy_options() -> dict:
    """Behind the TLS reverse proxy, take the client's address from the proxy's
    X-Forwarded-For (only from the proxy itself): allowed networks (domain R8), the audit log
    and the login history need the real address, not the proxy's."""
    if not settings.BEHIND_TLS:
        return {}
    return {
        "trusted_proxy": os.environ.get("MNVAULT_TRUSTED_PROXY", "127.0.0.1"),
        "trusted_proxy_count": 1,
        "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
        "clear_untrusted_proxy_headers": True,
    }


def first_admin() -> str | None:
    """On a fresh installation, create the first installation administrator, ``admin``, and
    return its one-time password; None when there is one already. Several servers started at
    once on a fresh installation all find none: one creates it, and the others' insert of the
    same user name fails (the unique constraint waits for the winner's commit, on SQLite and
    PostgreSQL alike) and rolls back with its audit entry, so they find it there and go on."""
    if User.objects.filter(is_installation_admin=True).exists():
        return None
    password = secrets.token_urlsafe(12)
    try:
        create_installation_admin(
            username="admin", email="", password=password, must_change_password=True
        )
    except (IntegrityError, ValueError):  # ValueError: the name was taken just before
        if User.objects.filter(is_installation_admin=True).exists():
            return None  # another server created it first
        raise
    return password


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Start the app.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument("--checkpoint-interval", type=float, default=300.0)
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help=_("run no periodic jobs here (a separate `mnvault scheduler` process runs them)"),
        )

    def handle(
        self, *args, host: str, port: int, threads: int, checkpoint_interval: float, **options
    ) -> None:
        if not setup.is_initialised():
            raise CommandError(_("Not initialised: run `mnvault init` first."))
        setup.migrate()
        # Before any thread can sign a checkpoint; the loop's first round tries again if this
        # fails (the database not answering yet, say).
        try:
            restores.finish_pending()
        except Exception as error:
            log.warning("finishing an interrupted restore failed: %s", type(error).__name__)
        self._announce(host, port)
        stop = threading.Event()
        threading.Thread(
            target=_checkpoint_loop, args=(stop, checkpoint_interval), daemon=True
        ).start()
        # Only one scheduler runs jobs at a time (a lease in the database), so one per server
        # is safe; --no-scheduler leaves them to a separate `mnvault scheduler` process.
        scheduler = SchedulerLoop(jobs=jobs.JOBS, stop=stop)
        if not options.get("no_scheduler"):
            scheduler.start()
        # Background tasks run in every server, --no-scheduler or not: each task is claimed
        # by one UPDATE, so the servers share the queue (``scheduler.tasks``).
        worker = TaskWorker(stop=stop)
        worker.start()
        from waitress import serve

        from mnvault.wsgi import application

        try:
            serve(
                application,
                host=host,
                port=port,
                threads=threads,
                ident="mnvault",
                **body_options(),
                **proxy_options(),
            )
        finally:
            stop.set()
            scheduler.shutdown()  # lets a tick under way end, and releases the lease
            worker.shutdown()  # waits a while for a task under way

    def _announce(self, host: str, port: int) -> None:
        self.stdout.write(f"mnvault: http://{host}:{port}/  (data: {settings.DATA_DIR})")
        password = first_admin()
        if password is None:
            self.stdout.write(_("Sign in as an installation administrator."))
            return
        # A service's stdout goes to its logs: the password is shown only on a terminal, and
        # otherwise left in a file that only this user can read.
        path = Path(settings.DATA_DIR) / INITIAL_PASSWORD_FILE
        write_private_file(path, f"{password}\n".encode())
        shown = password if sys.stdout.isatty() else f"(in {path})"
        self.stdout.write(_("Created the first administrator:"))
        self.stdout.write(f"  user: admin   one-time password: {shown}")
        self.stdout.write("  " + _("Change the password at the first sign-in."))
