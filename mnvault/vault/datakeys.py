"""Per-person data keys (DEK): created, wrapped by the active KEK, unwrapped, shredded.

Internal to the vault core: nothing outside ``mnvault.vault`` imports this module; the
others reach keys through ``mnvault.vault.api``.

Which KEK is active is read from the key store (``KeyStoreState``) inside the writer's own
key-store transaction, with the row locked: a KEK rotation switches that row first and drops an
old KEK only under the same lock once no key needs it, so no writer can wrap a new key under a
KEK that is about to disappear.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from mnvault.people.models import Person
from mnvault.vault import api, keys
from mnvault.vault.errors import KeyFileOutdated, KeyUnavailable
from mnvault.vault.models import DataKey, KeyStoreState
from mnvault.vault.routers import KEY_STORE

NO_KEY = gettext_lazy("This person has no key (it was disposed of).")


def key_store_atomic(*, durable: bool = False) -> transaction.Atomic:
    return transaction.atomic(using=KEY_STORE, durable=durable)


def locked_state() -> KeyStoreState:
    """The key store's state row, locked until the key-store transaction ends."""
    state = KeyStoreState.objects.select_for_update().filter(pk=1).first()
    if state is not None:
        return state
    try:
        with transaction.atomic(using=KEY_STORE):
            KeyStoreState.objects.create(pk=1, active_kek_id=keys.material().active_kek_id)
    except IntegrityError:
        pass  # another writer created it first
    return KeyStoreState.objects.select_for_update().get(pk=1)


@dataclass(frozen=True)
class ActiveKek:
    id: str
    cipher: api.Cipher


def active_kek() -> ActiveKek:
    """The KEK new keys are wrapped under; call inside a key-store transaction."""
    state = locked_state()
    _leave_retired_kek(state)
    return ActiveKek(state.active_kek_id, api.Cipher(_kek(state.active_kek_id)))


def _leave_retired_kek(state: KeyStoreState) -> None:
    """A key store restored from a backup taken before a rotation names the KEK that rotation
    retired: new keys go under the key file's active KEK instead, never under one that is
    going to be destroyed."""
    material = keys.material()
    if state.active_kek_id in material.retired and material.active_kek_id in material.keks:
        state.active_kek_id = material.active_kek_id
        state.save(update_fields=["active_kek_id"])


def _kek(kek_id: str) -> bytes:
    """A KEK by id, a retired one included (it opens a key store restored from a backup
    taken before the rotation that retired it)."""
    material = keys.material()
    if kek_id not in material.keks:
        # Another process may have rotated the KEK since this one loaded the key file.
        keys.forget()
        material = keys.material()
    if kek_id not in material.keks:
        _refuse_destroyed_kek(material, kek_id)
        _refuse_outdated_key_file(material)
    return material.kek(kek_id)


def _refuse_destroyed_kek(material: keys.KeyMaterial, kek_id: str) -> None:
    """A KEK destroyed after the key-store backup window: the key store asking for it is a
    backup older than that window, not a key file gone stale."""
    if kek_id not in material.destroyed:
        return
    raise KeyUnavailable(
        gettext(
            "The key-encryption key %(kek)s was destroyed on %(date)s, once every key-store "
            "backup wrapped under it had expired: this key store is older than that (restored "
            "from an expired backup?). Restore a key-store backup taken after %(date)s."
        )
        % {"kek": kek_id, "date": timezone.localdate(material.destroyed_at(kek_id)).isoformat()}
    )


def _refuse_outdated_key_file(material: keys.KeyMaterial) -> None:
    """When the key store's active KEK is not in the key file, the key file is the stale one
    (rotated elsewhere since it was copied): say that, and what to copy, instead of a bare
    "key not available" on every reveal."""
    active = _active_kek_missing_from(material)
    if active is None:
        return
    raise KeyFileOutdated(
        gettext(
            "This server's key file %(path)s is older than the key store: the key-encryption "
            "key was rotated to %(kek)s (by `mnvault keys rotate`, perhaps on another server "
            "or before the key file was restored), and this key file holds only %(held)s. "
            "Copy the current key file from the server where the rotation ran (or from the "
            "backup taken after it) to %(path)s. No data is lost."
        )
        % {"path": keys.key_file_path(), "kek": active, "held": ", ".join(sorted(material.keks))}
    )


def _active_kek_missing_from(material: keys.KeyMaterial) -> str | None:
    """The key store's active KEK when the key file lacks it (one query), else None."""
    active = KeyStoreState.objects.filter(pk=1).values_list("active_kek_id", flat=True).first()
    return None if active is None or active in material.keks else active


def key_file_outdated() -> bool:
    """Whether this server's key file is older than the key store, as a reveal would find it
    (``KeyFileOutdated``), cheaply enough for each poll of ``/healthz``: one query, and the key
    file as loaded (read again only when it changed on disk; never unsealed again here, which
    for a passphrase-protected file would cost a key derivation a poll)."""
    return _active_kek_missing_from(keys.material()) is not None


def wrap(kek: ActiveKek, dek: bytes, person: api.KeyHolder) -> bytes:
    return kek.cipher.encrypt(dek, api.dek_aad(person.company_id, person.pk, kek.id))


def unwrap(data_key: DataKey) -> bytes:
    return api.decrypt(
        _kek(data_key.kek_id),
        data_key.wrapped,
        api.dek_aad(data_key.company_id, data_key.person_id, data_key.kek_id),
    )


def dek_for(person: Person, *, create: bool) -> bytes:
    """The person's DEK; a new one is made (and stored wrapped) when ``create`` is set.

    Keys are found by the person's random ``key_ref``, not by id: a key left behind by a
    transaction that failed after the key store committed can never be taken for the key of
    a later person who happens to get the same id."""
    return key_for(person.key_ref, person, create=create)


def key_for(ref: str, person: Person, *, create: bool) -> bytes:
    """A data key of ``person`` named by ``ref``: the person's DEK, or a key of their own for
    something that must be destroyable apart from the number (identity-document photos)."""
    data_key = DataKey.objects.filter(ref=ref).first()
    if data_key is None:
        if not create:
            raise KeyUnavailable(NO_KEY, code="no_key")
        dek = api.new_key()
        kek = active_kek()
        DataKey(
            ref=ref,
            company_id=person.company_id,
            person_id=person.pk,
            kek_id=kek.id,
            wrapped=wrap(kek, dek, person),
        ).save(force_insert=True)
        return dek
    if (data_key.company_id, data_key.person_id) != (person.company_id, person.pk):
        raise KeyUnavailable(NO_KEY, code="no_key")
    return unwrap(data_key)


# The person id of keys that belong to no person (a document run's download password).
NO_PERSON = 0


@dataclass
class CompanyHolder:
    """What wrapping needs of a key that belongs to a company, not a person."""

    company_id: int
    kind: str = ""
    key_ref: str = ""

    @property
    def pk(self) -> int:
        return NO_PERSON


def company_key(ref: str, company_id: int, *, create: bool) -> bytes:
    """A key of the company named by ``ref`` (never a person's): made if ``create``."""
    data_key = DataKey.objects.filter(ref=ref).first()
    if data_key is None:
        if not create:
            raise KeyUnavailable(NO_KEY, code="no_key")
        dek, kek = api.new_key(), active_kek()
        DataKey(
            ref=ref,
            company_id=company_id,
            person_id=NO_PERSON,
            kek_id=kek.id,
            wrapped=wrap(kek, dek, CompanyHolder(company_id)),
        ).save(force_insert=True)
        return dek
    if (data_key.company_id, data_key.person_id) != (company_id, NO_PERSON):
        raise KeyUnavailable(NO_KEY, code="no_key")
    return unwrap(data_key)


def destroy_key(ref: str) -> bool:
    """Crypto-shredding: delete the wrapped key; whatever it sealed is unreadable for good."""
    deleted, _ = DataKey.objects.filter(ref=ref).delete()
    return bool(deleted)


def destroy_person_keys(person: Person) -> int:
    """Every key of ``person``: their DEK and the keys of their identity-document photos."""
    deleted, _ = DataKey.objects.filter(company_id=person.company_id, person_id=person.pk).delete()
    return deleted


def index_secret() -> bytes:
    return keys.material().index_secret


def index_key(company_id: int) -> bytes:
    return api.company_index_key(keys.material().index_secret, company_id)
