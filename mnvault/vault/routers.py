"""Sends the data keys to the key store database and everything else to the default one."""

from __future__ import annotations

KEY_STORE = "keys"


KEY_MODELS = frozenset({"datakey", "keystorestate"})


def _is_key(model_or_label) -> bool:
    meta = getattr(model_or_label, "_meta", None)
    return meta is not None and meta.app_label == "vault" and meta.model_name in KEY_MODELS


class KeyStoreRouter:
    def db_for_read(self, model, **hints):
        return KEY_STORE if _is_key(model) else "default"

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return _is_key(obj1) == _is_key(obj2)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        is_key = app_label == "vault" and model_name in KEY_MODELS
        return is_key if db == KEY_STORE else not is_key
