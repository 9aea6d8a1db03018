"""The installation's whole audit log exported for an auditor to verify on another machine
(``mnvault audit export``), recorded in the log itself (docs/architecture.md, "Audit log")."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from mnvault.audit import log as audit
from mnvault.audit import witness
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.audit.export import Exported, write_export
from mnvault.audit.models import Outcome

SCOPE = {"scope": "installation"}


def export_log(*, actor: Actor, path: Path) -> Exported:
    """Record the export, sign the head (the export's last entry is then this record, under
    a signature), and write the file. A failure is recorded too, then raised."""
    with transaction.atomic(durable=True):
        audit.record(actor=actor, action=Action.AUDIT_EXPORT, detail=SCOPE)
    try:
        last = witness.current_checkpoint()
        if last is None:  # cannot be: the log holds at least the entry just written
            raise RuntimeError("no checkpoint to end the export at")
        return write_export(path, last=last)
    except Exception:
        with transaction.atomic(durable=True):
            audit.record(
                actor=actor,
                action=Action.AUDIT_EXPORT,
                outcome=Outcome.FAILED,
                reason="export_failed",
                detail=SCOPE,
            )
        raise
