from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.mark.django_db(databases=["default", "keys"])
def test_the_migrations_match_the_models():
    """A model change without its migration would break `mnvault init` on the next machine."""
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
