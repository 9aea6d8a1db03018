"""Per-person data keys (DEK): created, wrapped by the active KEK, unwrapped, shredded.

Internal to the vault core: nothing outside ``mnvault.vault`` imports this module.
"""

from __future__ import annotations

from django.db import transaction

from mnvault.vault import crypto, keys
from mnvault.vault.errors import KeyUnavailable
from mnvault.vault.models import DataKey
from mnvault.vault.routers import KEY_STORE


def key_store_atomic():
    return transaction.atomic(using=KEY_STORE)


def wrap(dek: bytes, company_id: int, person_id: int) -> DataKey:
    material = keys.material()
    kek_id = material.active_kek_id
    return DataKey(
        company_id=company_id,
        person_id=person_id,
        kek_id=kek_id,
        wrapped=crypto.seal(
            material.kek(kek_id), dek, crypto.dek_aad(company_id, person_id, kek_id)
        ),
    )


def unwrap(data_key: DataKey) -> bytes:
    material = keys.material()
    if data_key.kek_id not in material.keks:
        # Another process may have rotated the KEK since this one loaded the key file.
        keys.forget()
        material = keys.material()
    return crypto.open_sealed(
        material.kek(data_key.kek_id),
        data_key.wrapped,
        crypto.dek_aad(data_key.company_id, data_key.person_id, data_key.kek_id),
    )


def dek_for(company_id: int, person_id: int, *, create: bool) -> bytes:
    """The person's DEK; a new one is made (and stored wrapped) when ``create`` is set."""
    data_key = DataKey.objects.filter(person_id=person_id).first()
    if data_key is None:
        if not create:
            raise KeyUnavailable(
                "この人の鍵はありません (廃棄済み) / this person has no key (disposed)"
            )
        dek = crypto.new_key()
        wrap(dek, company_id, person_id).save(force_insert=True)
        return dek
    if data_key.company_id != company_id:
        raise KeyUnavailable()
    return unwrap(data_key)


def index_key(company_id: int) -> bytes:
    return crypto.company_index_key(keys.material().index_secret, company_id)
