"""KEK rotation: re-wrap every DEK under a new key-encryption key, in batches, without touching
the data. Safe to interrupt and run again, and to run beside the app:

1. Under the key store's state lock, a new KEK is added to the key file (the old one stays) and
   made the one writers use from then on (``datakeys.active_kek``).
2. Every DEK still under an old KEK is re-wrapped, a batch per key-store transaction.
3. Under the state lock again, the old KEKs are marked retired in the key file — only once no
   DEK needs them. A retired KEK stays, so that a key-store backup taken before the rotation
   (or a second server's key store) still opens, until the last such backup has expired
   (``MNVAULT_KEYSTORE_BACKUP_DAYS``); then the scheduler destroys it, audited
   (``destroy_retired_keks``).

Only one rotation runs at a time (a lock file beside the key file, and an advisory lock on
PostgreSQL for rotations started on other servers).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mnvault.audit import log as audit
from mnvault.audit.actions import Action
from mnvault.audit.actors import Actor
from mnvault.vault import api, datakeys, keys
from mnvault.vault.errors import VaultError
from mnvault.vault.models import DataKey
from mnvault.vault.routers import KEY_STORE

ROTATION_LOCK_ID = 0x6D6E7661756C74  # "mnvault", for pg_try_advisory_lock
BUSY = VaultError(_("Another key rotation is running."), code="rotation_running")


@contextlib.contextmanager
def rotation_lock(key_file: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: one office PC, one operator
        fcntl = None  # type: ignore[assignment]  # the module is optional here
    with open(key_file.with_name(key_file.name + ".lock"), "a") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BUSY from None
        with _advisory_lock():
            yield


@contextlib.contextmanager
def _advisory_lock() -> Iterator[None]:
    connection = connections[KEY_STORE]
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ROTATION_LOCK_ID])
        if not cursor.fetchone()[0]:
            raise BUSY
        try:
            yield
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [ROTATION_LOCK_ID])


def rotate_kek(
    *, actor: Actor, batch_size: int = 1000, progress: Callable[[int], object] | None = None
) -> dict[str, Any]:
    provider = keys.provider()
    with rotation_lock(keys.key_file_path()):
        new_id = _switch(provider)
        with transaction.atomic():
            audit.record(actor=actor, action=Action.KEYS_ROTATE_START, detail={"kek": new_id})
        rewrapped = _rewrap_all(new_id, batch_size, progress)
        _retire_old(provider, new_id)
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=Action.KEYS_ROTATE_DONE,
            detail={"kek": new_id, "rewrapped": rewrapped},
        )
    return {"kek": new_id, "rewrapped": rewrapped}


def _switch(provider: keys.KeyProvider) -> str:
    """Step 1. A key file holding more than one live (not retired) KEK is a rotation
    interrupted after this step; it resumes with the KEK it had made."""
    with datakeys.key_store_atomic():
        state = datakeys.locked_state()
        material = provider.load()
        if len(material.live_kek_ids()) == 1:
            material = material.with_new_kek()
            provider.save(material)  # the file now holds old and new keys: nothing is lost
        keys.forget()
        state.active_kek_id = material.active_kek_id
        state.save(update_fields=["active_kek_id"])
    return material.active_kek_id


def _retire_old(provider: keys.KeyProvider, new_id: str) -> None:
    """Step 3, under the state lock so no writer can be wrapping under an old KEK meanwhile."""
    with datakeys.key_store_atomic():
        if datakeys.locked_state().active_kek_id != new_id:
            raise VaultError(_("The key state changed."), code="state")
        if DataKey.objects.exclude(kek_id=new_id).exists():
            raise VaultError(
                _("Some data keys are still under an old KEK: run the rotation again."),
                code="rotation_incomplete",
            )
        material = provider.load()
        old_ids = [k for k in material.live_kek_ids() if k != new_id]
        provider.save(material.retiring(old_ids, timezone.now()))
        keys.forget()


def _rewrap_all(
    new_id: str,
    batch_size: int,
    progress: Callable[[int], object] | None,
    *,
    only: str | None = None,
) -> int:
    """Every DEK not under ``new_id`` (or, with ``only``, those under that KEK) re-wrapped."""
    done = 0
    while True:
        with datakeys.key_store_atomic():
            new_kek = api.Cipher(keys.material().kek(new_id))
            pending = DataKey.objects.select_for_update().exclude(kek_id=new_id)
            if only is not None:
                pending = pending.filter(kek_id=only)
            batch = list(pending.order_by("pk")[:batch_size])
            if not batch:
                return done
            for data_key in batch:
                dek = datakeys.unwrap(data_key)
                data_key.wrapped = new_kek.encrypt(
                    dek, api.dek_aad(data_key.company_id, data_key.person_id, new_id)
                )
                data_key.kek_id = new_id
                data_key.rewrapped_at = timezone.now()
            DataKey.objects.bulk_update(batch, ["wrapped", "kek_id", "rewrapped_at"])
        done += len(batch)
        if progress:
            progress(len(batch))


# --- retired KEKs -----------------------------------------------------------------------------


def _due(material: keys.KeyMaterial, now: datetime) -> list[str]:
    """Retired KEKs every key-store backup wrapped under has outlived: a backup taken just
    before the retirement is kept MNVAULT_KEYSTORE_BACKUP_DAYS, no longer."""
    window = timedelta(days=settings.MNVAULT_KEYSTORE_BACKUP_DAYS)
    return sorted(k for k in material.retired if material.retired_at(k) + window <= now)


def destroy_retired_keks(*, now: datetime | None = None, batch_size: int = 1000) -> list[str]:
    """The scheduler's job: destroy each retired KEK whose backup window has passed, audited.
    Keys still under it (a key store restored from an older backup since) are first re-wrapped
    under the active KEK, so that destroying it never loses a number."""
    now = now or timezone.now()
    if not _due(keys.material(), now):
        return []  # the common case, without taking the rotation lock
    provider = keys.provider()
    destroyed = []
    with rotation_lock(keys.key_file_path()):
        for kek_id in _due(provider.load(), now):
            with datakeys.key_store_atomic():
                active_id = datakeys.active_kek().id  # a restored key store leaves the retired
            rewrapped = _rewrap_all(active_id, batch_size, None, only=kek_id)
            _destroy(provider, kek_id, now, rewrapped)
            destroyed.append(kek_id)
    return destroyed


def _destroy(provider: keys.KeyProvider, kek_id: str, now: datetime, rewrapped: int) -> None:
    """The audit entry and the key file's change stand or fall together: the entry is written
    first and rolled back if the key file cannot be saved."""
    with transaction.atomic(), datakeys.key_store_atomic():
        datakeys.locked_state()  # no writer wraps under it meanwhile (see _leave_retired_kek)
        if DataKey.objects.filter(kek_id=kek_id).exists():
            raise VaultError(_("Some data keys are still under a retired KEK."), code="state")
        material = provider.load()
        audit.record(
            actor=Actor.system("scheduler"),
            action=Action.KEYS_RETIRED_DESTROY,
            detail={
                "kek": kek_id,
                "retired_at": material.retired[kek_id],
                "backup_days": settings.MNVAULT_KEYSTORE_BACKUP_DAYS,
                "rewrapped": rewrapped,
            },
        )
        provider.save(material.without_kek(kek_id, at=now))
        keys.forget()
