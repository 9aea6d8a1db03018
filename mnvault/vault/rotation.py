"""KEK rotation: re-wrap every DEK under a new key-encryption key, in batches, without touching
the data. Safe to interrupt and run again: the key file keeps the old KEK until no DEK needs it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from mnvault.audit import log as audit
from mnvault.audit.log import Actor
from mnvault.vault import crypto, datakeys, keys
from mnvault.vault.models import DataKey
from mnvault.vault.routers import KEY_STORE


def rotate_kek(
    *, actor: Actor, batch_size: int = 1000, progress: Callable[[int], None] | None = None
) -> dict:
    """Add a new KEK (unless an earlier run was interrupted), re-wrap all DEKs, drop old KEKs."""
    provider = keys.provider()
    material = provider.load()
    pending = DataKey.objects.exclude(kek_id=material.active_kek_id)
    if len(material.keks) == 1 or not pending.exists():
        material = material.with_new_kek()
        provider.save(material)  # the file now holds old and new keys: nothing is lost
    keys.forget()
    new_id = material.active_kek_id
    with transaction.atomic():
        audit.record(actor=actor, action="keys.rotate.start", detail={"kek": new_id})
    rewrapped = _rewrap_all(material, new_id, batch_size, progress)
    for old_id in [k for k in material.keks if k != new_id]:
        material = material.without_kek(old_id)
    provider.save(material)
    keys.forget()
    with transaction.atomic():
        audit.record(
            actor=actor, action="keys.rotate.done", detail={"kek": new_id, "rewrapped": rewrapped}
        )
    return {"kek": new_id, "rewrapped": rewrapped}


def _rewrap_all(material, new_id: str, batch_size: int, progress) -> int:
    new_kek = crypto.Sealer(material.kek(new_id))
    done = 0
    while True:
        with transaction.atomic(using=KEY_STORE):
            batch = list(
                DataKey.objects.select_for_update()
                .exclude(kek_id=new_id)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return done
            for data_key in batch:
                dek = datakeys.unwrap(data_key)
                data_key.wrapped = new_kek.seal(
                    dek, crypto.dek_aad(data_key.company_id, data_key.person_id, new_id)
                )
                data_key.kek_id = new_id
                data_key.rewrapped_at = timezone.now()
            DataKey.objects.bulk_update(batch, ["wrapped", "kek_id", "rewrapped_at"])
        done += len(batch)
        if progress:
            progress(len(batch))
