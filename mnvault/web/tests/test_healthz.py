from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mnvault.audit.actors import Actor
from mnvault.conftest import ALL_DATABASES
from mnvault.scheduler import heartbeat
from mnvault.vault import keys
from mnvault.vault.models import KeyStoreState
from mnvault.vault.rotation import rotate_kek
from mnvault.vault.services import key_file_outdated


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_it_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_it_refuses_post(client):
    assert client.post("/healthz").status_code == 405


def fails() -> None:
    raise OSError("the checkpoint file's disk is full")


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_it_answers_ok_while_checkpoints_are_signed(client):
    heartbeat.started(heartbeat.CHECKPOINTS, every=timedelta(minutes=5))
    heartbeat.run(heartbeat.CHECKPOINTS, lambda: None)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_it_is_degraded_when_the_last_checkpoint_failed(client):
    heartbeat.started(heartbeat.CHECKPOINTS, every=timedelta(minutes=5))
    heartbeat.run(heartbeat.CHECKPOINTS, lambda: None)
    heartbeat.run(heartbeat.CHECKPOINTS, fails)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.content == b"degraded: audit checkpoints failed\n"  # no more than that


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_it_is_degraded_when_checkpoints_are_overdue(client):
    long_ago = timezone.now() - timedelta(minutes=16)
    heartbeat.started(heartbeat.CHECKPOINTS, every=timedelta(minutes=5), now=long_ago)
    heartbeat.run(heartbeat.CHECKPOINTS, lambda: None, now=long_ago)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.content == b"degraded: audit checkpoints overdue\n"
    heartbeat.run(heartbeat.CHECKPOINTS, lambda: None)
    assert client.get("/healthz").status_code == 200


@pytest.fixture
def rotated_elsewhere(key_file):
    """This host's key file as copied before `mnvault keys rotate` ran on another host: the
    key store now wraps new keys under k2, which this file does not hold."""
    old_copy = key_file.read_bytes()
    rotate_kek(actor=Actor.system("test"))
    current = key_file.read_bytes()
    key_file.write_bytes(old_copy)
    keys.forget()
    return current


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_it_answers_ok_after_a_rotation_with_the_current_key_file(client, key_file):
    rotate_kek(actor=Actor.system("test"))
    assert KeyStoreState.objects.get(pk=1).active_kek_id == "k2"
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_it_is_degraded_when_the_key_file_is_older_than_the_key_store(
    client, key_file, rotated_elsewhere
):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.content == b"degraded: key file outdated\n"  # no key ids, no path
    key_file.write_bytes(rotated_elsewhere)  # the current key file copied in
    keys.forget()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_an_outdated_key_file_is_said_before_the_checkpoints(client, rotated_elsewhere):
    heartbeat.started(heartbeat.CHECKPOINTS, every=timedelta(minutes=5))
    heartbeat.run(heartbeat.CHECKPOINTS, fails)
    assert client.get("/healthz").content == b"degraded: key file outdated\n"


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_the_key_file_check_costs_one_query(rotated_elsewhere):
    keys.material()  # loaded at start, as `mnvault serve` does
    with (
        CaptureQueriesContext(connections["keys"]) as in_key_store,
        CaptureQueriesContext(connections["default"]) as in_data,
    ):
        assert key_file_outdated()
    assert (len(in_key_store), len(in_data)) == (1, 0)
