import pytest


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Each test's documents land in its own data directory, which tests scan."""
    monkeypatch.setenv("MNVAULT_DATA_DIR", str(tmp_path))
    return tmp_path
