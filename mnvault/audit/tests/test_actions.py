"""The log holds only actions it can label, and every action and reason it may hold has a label
in both languages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import translation

from mnvault.accounts.signin import REFUSALS
from mnvault.audit.actions import REASONS, Action, action_label, reason_label
from mnvault.audit.actors import Actor
from mnvault.audit.log import record
from mnvault.audit.models import AuditEntry
from mnvault.collection import errors as collection_errors  # noqa: F401 (VaultErrors)
from mnvault.collection.registration import LinkState
from mnvault.conftest import ALL_DATABASES
from mnvault.domain.errors import VaultError
from mnvault.vault import rotation  # noqa: F401 (its VaultError subclasses)
from mnvault.vault.access import Operation

ROOT = Path(__file__).resolve().parents[2]  # the mnvault package
ACTOR = Actor.system("test")
DOTTED = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
CODE = re.compile(r"^[a-z][a-z_]*$")

# Helpers that pass an action (or a reason) on to ``audit.record``, and where it is among
# their positional arguments.
ACTION_ARGUMENT = {
    "record_invitee": 1,
    "refuse": 1,
    "_refusal": 1,
    "_entry": 1,  # vault.api
    "audit_durably": 1,  # vault.api
    "_reviewing": 2,  # collection.review
}
REASON_ARGUMENT = {
    "_refuse": 0,  # vault.access: a decision's reason
    "DocumentRefused": 0,
    "refuse": 2,
    "_refusal": 2,
    "_failed": 2,
    "_withdraw": 2,
    "_withdraw_open": 2,
    "destroy_in_transaction": 2,  # collection.photos
}


def _sources() -> list[tuple[Path, ast.Module]]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if {"tests", "migrations"} & set(path.parts) or path.name == "conftest.py":
            continue
        found.append((path, ast.parse(path.read_text(encoding="utf-8"))))
    return found


def _strings(node: ast.AST | None) -> list[str]:
    """The text constants a value may take: itself, or either branch of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _vault_error_classes() -> dict[str, str]:
    classes, todo = {}, [VaultError]
    while todo:
        cls = todo.pop()
        classes[cls.__name__] = cls.code
        todo.extend(cls.__subclasses__())
    return classes


def actions_written(sources: list[tuple[Path, ast.Module]] | None = None) -> set[str]:
    """Action codes written as text in the code (members of ``Action`` are checked by Python)."""
    found: set[str] = set()
    for _path, tree in _sources() if sources is None else sources:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            values = [k.value for k in node.keywords if k.arg == "action"]
            position = ACTION_ARGUMENT.get(_name(node.func))
            if position is not None and len(node.args) > position:
                values.append(node.args[position])
            found.update(s for v in values for s in _strings(v) if DOTTED.match(s))
    return found


def reasons_written() -> set[str]:
    """Reason codes the code can write: ``reason=`` arguments, the codes of vault errors and
    of the helpers that pass one on, and those built at run time."""
    errors = _vault_error_classes()
    found = set(errors.values())
    for _path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", getattr(t, "attr", "")) in {"code", "reason"} for t in node.targets
            ):
                found.update(_strings(node.value))
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            wanted = {"reason", "code"} if name in errors else {"reason"}
            values = [k.value for k in node.keywords if k.arg in wanted]
            position = REASON_ARGUMENT.get(name)
            if position is not None and len(node.args) > position:
                values.append(node.args[position])
            found.update(s for v in values for s in _strings(v))
    # Built at run time: a closed registration link, and the sign-in refusals.
    found.update(f"link_{s}" for s in (LinkState.USED, LinkState.EXPIRED, LinkState.REVOKED))
    found.update(str(outcome) for outcome in REFUSALS)
    return {code for code in found if CODE.match(code)}


def test_the_scans_find_what_they_look_for():
    # The code writes every action as a member of Action now: a sample shows the scan works.
    sample = ast.parse(
        'audit.record(action="collection.approve")\n'
        'record_invitee(invitation, "collection.link_opened", address)\n'
        '_reviewing(user, submission, "collection.identity_check", address)\n'
    )
    assert {"collection.approve", "collection.identity_check", "collection.link_opened"} <= (
        actions_written([(Path("sample.py"), sample)])
    )
    assert {
        "grantor_role",
        "purpose_not_notified_to_person",
        "wrong_birth_date",
        "too_large",
        "invitation_closed",
        "length",
        "bad_password",
        "link_revoked",
        "network_not_allowed",
    } <= reasons_written()


def test_every_action_written_as_text_is_in_the_enumeration():
    assert actions_written() - set(Action.values) == set()


def test_every_vault_operation_is_an_action():
    """The vault audits a decision under the operation's own name."""
    assert set(Operation.values) <= set(Action.values)


def test_every_reason_the_code_writes_has_a_label():
    assert reasons_written() - set(REASONS) == set()


def _in(language: str, label) -> str:
    with translation.override(language):
        return str(label)


@pytest.mark.parametrize("action", list(Action), ids=str)
def test_every_action_is_labelled_in_both_languages(action):
    english, japanese = _in("en", action.label), _in("ja", action.label)
    assert english and english != action.value
    assert japanese != english, f"no Japanese for {english!r}"
    with translation.override("ja"):
        assert action_label(action.value) == japanese


@pytest.mark.parametrize("code", sorted(REASONS))
def test_every_reason_is_labelled_in_both_languages(code):
    english, japanese = _in("en", REASONS[code]), _in("ja", REASONS[code])
    assert english and english != code
    assert japanese != english, f"no Japanese for {english!r}"
    with translation.override("ja"):
        assert reason_label(code) == japanese


def test_an_unknown_code_is_shown_as_it_is():
    assert action_label("old.action") == "old.action"
    assert reason_label("old_reason") == "old_reason"


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_record_refuses_an_action_not_in_the_enumeration():
    with pytest.raises(ValueError, match="unknown audit action"), transaction.atomic():
        record(actor=ACTOR, action="number.peek")
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_record_takes_a_member_or_its_value_and_stores_the_value():
    with transaction.atomic():
        first = record(actor=ACTOR, action=Action.KEYS_ROTATE_START)
        second = record(actor=ACTOR, action="keys.rotate.done")
    stored = list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))
    assert stored == ["keys.rotate.start", "keys.rotate.done"]
    assert type(first.action) is str and type(second.action) is str
