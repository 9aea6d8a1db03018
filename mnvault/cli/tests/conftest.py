"""Installations for the command-line tests. ``init`` and ``demo`` run once per session into a
template directory; each test gets its own copy, so tests stay independent but fast."""

from __future__ import annotations

import pytest

from mnvault.cli.tests.runner import DEMO_PEOPLE, Demo, Installation, parse_demo


@pytest.fixture
def fresh(tmp_path) -> Installation:
    """An empty temporary root: nothing initialised."""
    return Installation(tmp_path)


@pytest.fixture(scope="session")
def _initialised_template(tmp_path_factory) -> Installation:
    template = Installation(tmp_path_factory.mktemp("initialised"))
    template.run("init")
    return template


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory) -> tuple[Installation, Demo]:
    template = Installation(tmp_path_factory.mktemp("demo"))
    template.run("init")
    demo = parse_demo(template.run("demo", "--people", str(DEMO_PEOPLE), "--seed", "1").out)
    return template, demo


@pytest.fixture
def initialised(tmp_path, _initialised_template) -> Installation:
    """A copy of an installation right after ``mnvault init``."""
    return Installation(tmp_path).copy_from(_initialised_template)


@pytest.fixture
def with_demo(tmp_path, _demo_template) -> tuple[Installation, Demo]:
    """A copy of an installation after ``init`` and ``demo --people 30 --seed 1``."""
    template, demo = _demo_template
    return Installation(tmp_path).copy_from(template), demo
