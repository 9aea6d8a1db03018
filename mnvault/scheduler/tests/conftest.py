"""Fixtures for the scheduler tests: sample jobs and a clean record of their calls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from mnvault.audit.tests.test_concurrency import (  # noqa: F401 - fixtures
    database_url,
    installation,
)
from mnvault.scheduler.jobs import Job
from mnvault.scheduler.tests import sample_jobs

HOUR = timedelta(hours=1)
RECORD = Job("test.record", "mnvault.scheduler.tests.sample_jobs.record", HOUR)
RECORD_OTHER = Job("test.record_other", "mnvault.scheduler.tests.sample_jobs.record_other", HOUR)
FAIL = Job("test.fail", "mnvault.scheduler.tests.sample_jobs.fail", HOUR)


@pytest.fixture(autouse=True)
def calls() -> Iterator[list[tuple[str, datetime]]]:
    """The sample jobs' calls in this test alone."""
    sample_jobs.CALLS.clear()
    yield sample_jobs.CALLS
    sample_jobs.CALLS.clear()


@pytest.fixture
def now() -> datetime:
    return timezone.now().replace(microsecond=0)
