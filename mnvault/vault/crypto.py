"""AES-256-GCM sealing with associated data, and the keyed duplicate index.

The associated data binds every ciphertext to its company, person and field, so a ciphertext
copied onto another record fails to authenticate (docs/architecture.md, "Keys and encryption").
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mnvault.vault.errors import DecryptionFailed

FORMAT_V1 = b"\x01"
NONCE_BYTES = 12


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


class Sealer:
    """AES-GCM under one key, built once for bulk work (wrapping thousands of DEKs)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT_V1 + nonce + self._aead.encrypt(nonce, plaintext, aad)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    return Sealer(key).seal(plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    blob = bytes(blob)
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != FORMAT_V1:
        raise DecryptionFailed()
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionFailed() from None


def field_aad(company_id: int, person_id: int, field: str) -> bytes:
    return f"mnvault:v1|company={company_id}|person={person_id}|field={field}".encode()


def dek_aad(company_id: int, person_id: int, kek_id: str) -> bytes:
    return f"mnvault:dek:v1|company={company_id}|person={person_id}|kek={kek_id}".encode()


def company_index_key(index_secret: bytes, company_id: int) -> bytes:
    """Each company gets its own index key, so the same number gives unrelated values in two
    companies and the index can never link people across companies (domain R12)."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"mnvault:index:v1|company={company_id}".encode(),
    ).derive(index_secret)


def number_index(index_key: bytes, number: str) -> bytes:
    return hmac.new(index_key, number.encode("ascii"), hashlib.sha256).digest()
