"""Per-person Ed25519 signing keys, the private half encrypted with the person's passphrase.

A key is identified by the sha256 of its public key; the public key is registered in the
archive's log (so it is covered by the Merkle root like everything else), the private key is a
PKCS#8 file encrypted with the signer's passphrase (21 CFR 11.200: two components, the
identity and a secret only its owner knows). The passphrase is never written anywhere.

Keys are made, encrypted and used to sign with ``cryptography`` (OpenSSL); signatures are
checked with libsodium (PyNaCl), which does it in half the time here (80 against 145 µs a
signature), and ``verify`` checks one for every entry of the log. Both follow RFC 8032;
libsodium is the stricter of the two (it also refuses small-order keys and points), which is
the right side to err on for an auditor.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

from ..errors import FlowdocError

MIN_PASSPHRASE = 8


class KeyError_(FlowdocError):
    """A key cannot be made, unlocked or used; the message says why (never the passphrase)."""


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:32]


def new_key(passphrase: str) -> tuple[bytes, bytes]:
    """A new key pair: (raw public key, encrypted PKCS#8 PEM of the private key)."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyError_(f"a passphrase needs at least {MIN_PASSPHRASE} characters")
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(passphrase.encode("utf-8")))
    return public, pem


def public_of(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw,
                                             serialization.PublicFormat.Raw)


def encrypt(private: Ed25519PrivateKey, passphrase: str) -> bytes:
    """``private`` as PKCS#8 PEM encrypted with ``passphrase``."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyError_(f"a passphrase needs at least {MIN_PASSPHRASE} characters")
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.BestAvailableEncryption(passphrase.encode("utf-8")))


def generate() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def unlock(pem: bytes, passphrase: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, passphrase.encode("utf-8"))
    except (ValueError, TypeError):
        raise KeyError_("the passphrase does not unlock this key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyError_("not an Ed25519 key")
    return key


def sign(private: Ed25519PrivateKey, message: bytes) -> str:
    return private.sign(message).hex()


@lru_cache(maxsize=4096)
def verify_once(public_raw: bytes, message: bytes, signature_hex: str) -> bool:
    """:func:`verify`, remembered: the few signatures every write looks at again (a key's
    registrar countersignature, a flow's and org.yaml's sign-offs) are checked once a process."""
    return verify(public_raw, message, signature_hex)


def verify(public_raw: bytes, message: bytes, signature_hex: str) -> bool:
    """Whether ``signature_hex`` is the Ed25519 signature of ``message`` by ``public_raw``."""
    try:
        signature = bytes.fromhex(signature_hex)
        if len(signature) != 64 or len(public_raw) != 32:
            return False
        crypto_sign_open(signature + message, public_raw)
    except (CryptoError, ValueError, TypeError):
        return False
    return True
