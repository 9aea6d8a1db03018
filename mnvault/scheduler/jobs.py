"""The registry of periodic jobs.

A job's target is the dotted path of a function called as ``target(now=now)`` with the aware
datetime of the tick; it is imported only when run, so this module stays free of imports
from the apps whose jobs it lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Job:
    name: str  # unique: the key of its JobState row
    target: str  # dotted path to a function taking keyword-only ``now: datetime``
    every: timedelta


JOBS: tuple[Job, ...] = (
    # Reminders every N days until expiry, and the clean-up of drafts and document photos.
    Job(
        "collection.reminders",
        "mnvault.collection.reminders.send_due_reminders",
        timedelta(hours=1),
    ),
    # The latest signed checkpoint of the audit log e-mailed to each company's responsible
    # managers and auditors: witnesses outside the server.
    Job("audit.witness", "mnvault.oversight.witness.send_witness_digests", timedelta(days=1)),
    # Document archives (with numbers, encrypted) are kept ARCHIVE_HOURS for download only.
    Job("usage.expire_archives", "mnvault.usage.output.remove_expired", timedelta(hours=1)),
    # Approved disposal batches whose day has come, and any disposal a crash cut short.
    Job("retention.sweep", "mnvault.retention.services.sweep", timedelta(hours=1)),
    # KEKs retired by a rotation, destroyed once the key-store backups under them expired.
    Job("keys.destroy_retired", "mnvault.vault.rotation.destroy_retired_keks", timedelta(hours=1)),
    # The responsible managers told when people become due for disposal.
    Job("retention.notify_due", "mnvault.retention.notices.notify_due", timedelta(days=1)),
    # The day's encrypted backup once MNVAULT_BACKUP_AT has passed (the job itself decides,
    # once a day), then the deletion of backups past their retention.
    Job("backup.daily", "mnvault.backup.schedule.daily_backup", timedelta(minutes=10)),
    # Monthly: the archives checked against what was recorded when they were written, and the
    # responsible managers reminded to run the full drill with the offline private key.
    Job("backup.check", "mnvault.backup.schedule.check_archives", timedelta(days=30)),
)
