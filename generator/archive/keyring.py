"""Private keys out of their store, unlocked, and wrapped again when they were wrapped weakly.

A key file made before the wrapping went memory-hard (PKCS#8 with PBKDF2) or at a lower
Argon2id cost than the one in force is re-wrapped the first time its owner unlocks it: only
then is the passphrase at hand, and asking every person to run a migration would leave the
keys of those who never do as weak as they were. Every unlock of a person's or a trust key goes
through here.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..seal import keys
from .store import Store, write_private


def unlock_stored(store: Store, key_id: str, passphrase: str) -> Ed25519PrivateKey:
    """The private key ``key_id`` of ``store``, unlocked with ``passphrase`` (KeyError_ if it
    does not unlock; ArchiveError if the store has no such key)."""
    data = store.private_key(key_id)
    private = keys.unlock(data, passphrase)
    if keys.needs_rewrap(data):
        store.replace_private_key(key_id, keys.encrypt(private, passphrase))
    return private


def unlock_file(path: Path, passphrase: str) -> Ed25519PrivateKey:
    """The private key of the key file ``path`` (an operator's or a witness's), unlocked, and
    the file wrapped again in place when it was wrapped weakly. OSError if it cannot be read."""
    data = path.read_bytes()
    private = keys.unlock(data, passphrase)
    if keys.needs_rewrap(data):
        write_private(path, keys.encrypt(private, passphrase), replace=True)
    return private


def change_passphrase(store: Store, key_id: str, old: str, new: str) -> None:
    """Wrap the private key ``key_id`` with ``new`` in place of ``old`` (the same key: what it
    signed stays its signature; a stolen copy of the old file still needs the old passphrase)."""
    private = keys.unlock(store.private_key(key_id), old)
    store.replace_private_key(key_id, keys.encrypt(private, new))
