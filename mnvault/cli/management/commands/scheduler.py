"""``mnvault scheduler``: run the periodic jobs in a process of its own, for set-ups whose
app servers run ``mnvault serve --no-scheduler``. Several may run: one at a time holds the
lease and runs the jobs, the others stand by."""

from __future__ import annotations

import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mnvault.scheduler import jobs, lease
from mnvault.scheduler.models import JobState
from mnvault.scheduler.runner import DEFAULT_INTERVAL, SchedulerLoop

# Seconds between looks at the loop thread. The main thread sleeps rather than joins: a join
# cut short by Ctrl-C marks the thread as ended (Python < 3.13), and the process would then
# exit before the lease is released. Short sleeps also keep Ctrl-C responsive on Windows.
WATCH_SLICE = 0.5


class Command(BaseCommand):
    @property
    def help(self) -> str:  # made when asked, in the language of the command line
        return _("Run the periodic jobs.")

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help=_("run the due jobs once and exit"),
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=DEFAULT_INTERVAL,
            help=_("seconds between rounds"),
        )

    def handle(self, *args, once: bool, interval: float, **options) -> None:
        if interval <= 0:
            raise CommandError(_("--interval must be more than 0."))
        loop = SchedulerLoop(interval=interval, jobs=jobs.JOBS)
        if once:
            self._once(loop)
        else:
            self._forever(loop)

    def _once(self, loop: SchedulerLoop) -> None:
        try:
            ran = loop.tick()
        finally:
            loop.release()
        if ran:
            outcomes = dict(
                JobState.objects.filter(name__in=ran).values_list("name", "last_outcome")
            )
            for name in ran:
                outcome = outcomes.get(name) or "?"
                self.stdout.write(
                    _("Ran %(job)s (%(outcome)s).") % {"job": name, "outcome": outcome}
                )
            return
        holder = lease.current_holder()
        if holder:
            self.stdout.write(
                _("Another scheduler holds the lease: %(holder)s") % {"holder": holder}
            )
        else:
            self.stdout.write(_("No job was due."))

    def _forever(self, loop: SchedulerLoop) -> None:
        """The loop runs in a thread; this one waits for Ctrl-C (or SIGTERM from a service
        manager), then lets a job under way finish and the lease be released."""
        self.stdout.write(
            _("Scheduler started: every %(seconds)s s, %(jobs)d jobs, as %(holder)s.")
            % {"seconds": f"{loop.interval:g}", "jobs": len(loop.jobs), "holder": loop.holder}
        )
        self._stop_on_sigterm(loop.stop)
        thread = loop.start()
        try:
            while thread.is_alive():
                time.sleep(WATCH_SLICE)
        except KeyboardInterrupt:
            self.stdout.write(_("Stopping…"))
            loop.shutdown()
        self.stdout.write(_("Scheduler stopped."))

    @staticmethod
    def _stop_on_sigterm(stop: threading.Event) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
