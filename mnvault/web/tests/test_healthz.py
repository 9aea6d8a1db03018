from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mnvault.conftest import ALL_DATABASES
from mnvault.scheduler import heartbeat


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
