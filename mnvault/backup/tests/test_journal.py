"""The disposal journal (issue 13, item 3): written with the key destruction, in the key store
and beside the checkpoint file, so a restore of older data can re-apply it."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from mnvault.conftest import ALL_DATABASES
from mnvault.retention import services
from mnvault.vault import disposal
from mnvault.vault.models import DisposalJournal
from mnvault.vault.routers import KEY_STORE

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def test_a_disposal_is_journaled_in_the_key_store_and_beside_the_checkpoints(personas, leavers):
    first = leavers[0]
    batch = services.propose(
        acting_user=personas.handler, company=personas.company, people=[first.employee]
    )
    batch = services.approve(acting_user=personas.responsible_manager, batch=batch)
    ids = sorted(p.pk for p in (first.employee, *first.dependents))
    row = DisposalJournal.objects.using(KEY_STORE).get()
    assert (row.batch_id, row.certificate_number) == (batch.pk, batch.certificate_number)
    assert sorted(row.person_ids) == ids
    path = settings.MNVAULT_CHECKPOINT_FILE.parent / disposal.JOURNAL_FILE
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(entry["batch"], sorted(entry["people"])) for entry in lines] == [(batch.pk, ids)]
    assert disposal.read_journal_file(path) == disposal.journal_in_key_store()


def test_the_journal_commits_with_the_keys_even_when_the_data_commit_never_comes(
    personas, leavers, monkeypatch
):
    person = leavers[1].employee
    batch = services.propose(
        acting_user=personas.handler, company=personas.company, people=[person]
    )

    def crash(*args, **kwargs):
        raise SystemExit("killed between the two commits")

    monkeypatch.setattr(disposal, "mark_disposed", crash)
    with pytest.raises(SystemExit):
        services.approve(acting_user=personas.responsible_manager, batch=batch)
    assert DisposalJournal.objects.using(KEY_STORE).get().person_ids == [person.pk]
