"""Sends the data keys to the key store database and everything else to the default one."""

from __future__ import annotations

from typing import Any

KEY_STORE = "keys"


# The disposal journal lives beside the keys it records destroying: it commits with them and
# survives a restore of the data database from an older backup (issue 13).
KEY_MODELS = frozenset({"datakey", "keystorestate", "disposaljournal"})


def _is_key(model_or_label: Any) -> bool:
    meta = getattr(model_or_label, "_meta", None)
    return meta is not None and meta.app_label == "vault" and meta.model_name in KEY_MODELS


class KeyStoreRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str:
        return KEY_STORE if _is_key(model) else "default"

    db_for_write = db_for_read

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return _is_key(obj1) == _is_key(obj2)

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool:
        is_key = app_label == "vault" and model_name in KEY_MODELS
        return is_key if db == KEY_STORE else not is_key
