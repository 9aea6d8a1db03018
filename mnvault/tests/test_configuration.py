"""One list of the environment variables (``mnvault.paths.VARIABLES``): the README's
configuration table is made from it, and the code reads no variable that is not in it
(issue 10, item 20)."""

from __future__ import annotations

import re
from pathlib import Path

from mnvault import paths

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "mnvault"
MARKED = re.compile(r"<!-- config-table -->\n(.*?)<!-- /config-table -->", re.DOTALL)
# A variable's name as the code writes it to read it: os.environ.get("…"), os.environ["…"],
# prompts.secret("…", …). Settings read as settings.MNVAULT_… are not quoted.
QUOTED = re.compile(r"""["']((?:MNVAULT_[A-Z0-9_]+)|DATABASE_URL)["']""")


def readme_table() -> str:
    found = MARKED.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert found, "README.md has no <!-- config-table --> … <!-- /config-table --> block"
    return found.group(1)


def variables_read(source: str) -> set[str]:
    return set(QUOTED.findall(source))


def code_files() -> list[Path]:
    return [
        p
        for p in PACKAGE.rglob("*.py")
        if "tests" not in p.relative_to(PACKAGE).parts and p.name != "paths.py"
    ]


def test_the_readme_table_is_the_list_of_variables():
    assert readme_table() == paths.readme_table(), (
        "README.md's configuration table differs from mnvault.paths.VARIABLES: "
        "run `python -m mnvault.paths --readme-table` and paste it between the markers"
    )


def test_every_variable_the_code_reads_is_in_the_list():
    listed = set(paths.INSTALLATION_VARIABLES)
    unlisted = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in code_files()
        for name in variables_read(path.read_text(encoding="utf-8"))
        if name not in listed
    }
    assert not unlisted, f"read but not in mnvault.paths.VARIABLES: {sorted(unlisted)}"


def test_every_listed_variable_is_read_somewhere():
    read = set().union(*(variables_read(p.read_text(encoding="utf-8")) for p in code_files()))
    read |= {"MNVAULT_DATA_DIR"}  # paths.data_dir() reads it, in this very module
    assert set(paths.INSTALLATION_VARIABLES) - read == set()


def test_the_scan_sees_a_read_the_list_misses():
    """The check can fail: a new variable read in settings.py style is caught."""
    source = 'X = int(os.environ.get("MNVAULT_SOMETHING_NEW", "1"))\nY = settings.MNVAULT_DEBUG'
    assert variables_read(source) == {"MNVAULT_SOMETHING_NEW"}
    assert "MNVAULT_SOMETHING_NEW" not in paths.INSTALLATION_VARIABLES


def test_the_table_has_one_row_per_variable_with_its_default():
    rows = paths.readme_table().splitlines()[2:]
    assert len(rows) == len(paths.VARIABLES) == len(set(paths.INSTALLATION_VARIABLES))
    for variable, row in zip(paths.VARIABLES, rows, strict=True):
        assert row.startswith(f"| `{variable.name}` | {variable.default} |")


def test_the_names_are_still_a_tuple_of_strings_for_the_scrubbers():
    assert isinstance(paths.INSTALLATION_VARIABLES, tuple)
    assert all(isinstance(n, str) for n in paths.INSTALLATION_VARIABLES)
    assert {"DATABASE_URL", "MNVAULT_KEYSTORE_URL", "MNVAULT_DATA_DIR"} <= set(
        paths.INSTALLATION_VARIABLES
    )
