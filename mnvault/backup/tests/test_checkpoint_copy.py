"""The checkpoint file that goes with a backup: cut after the last line the backup's log
reaches, and kept whole before it, so a backup taken after an earlier restore still verifies
on its own (its restore line names the line it follows, a checkpoint of lost entries)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from mnvault.audit.checkpoints import write_checkpoint
from mnvault.audit.models import AuditCheckpoint, AuditEntry
from mnvault.audit.tests.tampering import append, set_head_to_last
from mnvault.audit.tests.test_restore_marker import LOST, N, restore_to
from mnvault.audit.verify import verify
from mnvault.backup.services import _checkpoints_up_to
from mnvault.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def test_a_backup_taken_after_a_restore_carries_a_file_that_verifies():
    append(N)
    write_checkpoint()
    append(LOST - N, start=N)
    write_checkpoint()  # #20, of entries the restore will lose
    restore_to(N)  # the restore entry #13, its line, a checkpoint of #13
    append(3, start=LOST)
    write_checkpoint()  # #16: the second backup's head
    head = 16
    copy = _checkpoints_up_to(head)
    append(4, start=LOST + 3)
    write_checkpoint()  # after the backup: not in its copy
    before, _restore, after = copy.partition(b'"kind": "restore"')
    assert b'"seq": 20,' in before and b'"seq": 16,' in after and b'"seq": 20,' not in after
    # The second backup restored with its own copy of the file, none surviving.
    AuditEntry.objects.filter(seq__gt=head).delete()
    AuditCheckpoint.objects.filter(seq__gt=head).delete()
    set_head_to_last()
    Path(settings.MNVAULT_CHECKPOINT_FILE).write_bytes(copy)
    with translation.override("en"):
        result = verify()
    assert result.ok, result.message
