"""Per-person Ed25519 signing keys, the private half encrypted with the person's passphrase.

A key is identified by the sha256 of its public key; the public key is registered in the
archive's log (so it is covered by the Merkle root like everything else), the private key is
kept wrapped with the signer's passphrase (21 CFR 11.200: two components, the identity and a
secret only its owner knows). The passphrase is never written anywhere.

**The wrapping** (``flowdoc-key`` version 1), one line of JSON::

    {"format": "flowdoc-key", "version": 1, "public": HEX,
     "kdf": {"name": "argon2id", "t": 3, "m": 65536, "p": 4, "salt": B64},
     "aead": {"name": "chacha20-poly1305", "nonce": B64}, "sealed": B64}

The passphrase (UTF-8) goes through Argon2id at RFC 9106's second recommended setting (3
passes over 64 MiB, 4 lanes: memory-hard, so a stolen keys folder is not guessed at GPU speed
as the PKCS#8 files of before were, whose PBKDF2 ran 2,048 iterations) into a 256-bit key that
seals the 32-byte private seed with ChaCha20-Poly1305; the canonical JSON of every other
member is the associated data, so a changed cost, salt or public key fails like a wrong
passphrase. A PKCS#8 file of before still unlocks, and is re-wrapped the first time it does
(``archive.keyring``). ``FLOWDOC_KEY_COST=test`` lowers the cost for a test suite, which makes
and unlocks thousands of keys; ``verify`` reports a key wrapped below the cost in force.

Keys are made and used to sign with ``cryptography`` (OpenSSL); signatures are checked with
libsodium (PyNaCl), which does it in half the time here (80 against 145 µs a signature), and
``verify`` checks one for every entry of the log. Both follow RFC 8032; libsodium is the
stricter of the two (it also refuses small-order keys and points), which is the right side to
err on for an auditor.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

from ..errors import FlowdocError
from .canonical import canonical

MIN_PASSPHRASE = 8
FORMAT, VERSION = "flowdoc-key", 1
LEGACY = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


@dataclass(frozen=True)
class Cost:
    """Argon2id's cost: passes, memory in KiB, lanes."""

    t: int
    m: int
    p: int

    def at_least(self, other: Cost) -> bool:
        return self.t >= other.t and self.m >= other.m and self.p >= other.p

    def __str__(self) -> str:
        return f"Argon2id t={self.t} m={self.m} p={self.p}"


STANDARD = Cost(t=3, m=65536, p=4)  # RFC 9106 §4, the second recommended option
TEST = Cost(t=1, m=64, p=1)  # FLOWDOC_KEY_COST=test: for test suites only
_MOST = Cost(t=16, m=1 << 21, p=16)  # a key file asking more is refused, not obeyed (2 GiB)


class KeyError_(FlowdocError):
    """A key cannot be made, unlocked or used; the message says why (never the passphrase)."""


def cost_in_force() -> Cost:
    """The cost new keys are wrapped at and old ones measured against."""
    return TEST if os.environ.get("FLOWDOC_KEY_COST") == "test" else STANDARD


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:32]


def new_key(passphrase: str) -> tuple[bytes, bytes, Ed25519PrivateKey]:
    """A new key pair: (raw public key, the private key wrapped with ``passphrase``, the
    private key itself, so that its maker need not unwrap what it just wrapped)."""
    private = Ed25519PrivateKey.generate()
    return public_of(private), encrypt(private, passphrase), private


def public_of(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw,
                                             serialization.PublicFormat.Raw)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(passphrase: str, salt: bytes, cost: Cost) -> bytes:
    return Argon2id(salt=salt, length=32, iterations=cost.t, lanes=cost.p,
                    memory_cost=cost.m).derive(passphrase.encode("utf-8"))


def encrypt(private: Ed25519PrivateKey, passphrase: str, cost: Cost | None = None) -> bytes:
    """``private`` wrapped with ``passphrase`` (the ``flowdoc-key`` format above)."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyError_(f"a passphrase needs at least {MIN_PASSPHRASE} characters")
    cost = cost or cost_in_force()
    salt, nonce = os.urandom(16), os.urandom(12)
    header = {"format": FORMAT, "version": VERSION, "public": public_of(private).hex(),
              "kdf": {"name": "argon2id", "t": cost.t, "m": cost.m, "p": cost.p,
                      "salt": _b64(salt)},
              "aead": {"name": "chacha20-poly1305", "nonce": _b64(nonce)}}
    seed = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
    sealed = ChaCha20Poly1305(_derive(passphrase, salt, cost)).encrypt(nonce, seed,
                                                                        canonical(header))
    return json.dumps({**header, "sealed": _b64(sealed)}, separators=(",", ":")).encode() + b"\n"


def generate() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _parsed(data: bytes) -> tuple[dict, Cost]:
    """The wrapping's members and cost, or KeyError_ saying in one line what is wrong."""
    try:
        wrapped = json.loads(data)
        kdf, aead = wrapped["kdf"], wrapped["aead"]
        if (wrapped["format"], wrapped["version"], kdf["name"], aead["name"]) != \
                (FORMAT, VERSION, "argon2id", "chacha20-poly1305"):
            raise ValueError
        cost = Cost(int(kdf["t"]), int(kdf["m"]), int(kdf["p"]))
    except (ValueError, KeyError, TypeError):
        raise KeyError_("not a flowdoc key file (format flowdoc-key 1) nor a PKCS#8 key") from None
    if not (1 <= cost.t <= _MOST.t and 1 <= cost.p <= _MOST.p and 8 * cost.p <= cost.m <= _MOST.m):
        raise KeyError_(f"the key file asks an Argon2id cost out of bounds ({cost})")
    return wrapped, cost


def wrap_problem(data: bytes) -> str | None:
    """What is weak about how a key file is wrapped (None: wrapped at the cost in force)."""
    if data.startswith(LEGACY):
        return ("wrapped with PBKDF2 at a cost a GPU guesses quickly (PKCS#8); it is re-wrapped "
                "with Argon2id the next time its owner signs or logs in")
    if b"PRIVATE KEY-----" in data[:64]:
        return "stored unencrypted"
    try:
        _, cost = _parsed(data)
    except KeyError_ as exc:
        return str(exc)
    if not cost.at_least(cost_in_force()):
        return (f"wrapped at {cost}, below the cost in force ({cost_in_force()}); re-wrapped "
                "the next time its owner signs or logs in")
    return None


def needs_rewrap(data: bytes) -> bool:
    """Whether a key file that unlocked should be wrapped again at the cost in force."""
    return wrap_problem(data) is not None


def unlock(data: bytes, passphrase: str) -> Ed25519PrivateKey:
    """The private key of a key file, with the passphrase that wraps it."""
    if data.startswith(LEGACY):
        try:
            key = serialization.load_pem_private_key(data, passphrase.encode("utf-8"))
        except (ValueError, TypeError):
            raise KeyError_("the passphrase does not unlock this key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyError_("not an Ed25519 key")
        return key
    wrapped, cost = _parsed(data)
    try:
        salt = base64.b64decode(wrapped["kdf"]["salt"], validate=True)
        nonce = base64.b64decode(wrapped["aead"]["nonce"], validate=True)
        sealed = base64.b64decode(wrapped["sealed"], validate=True)
        header = {k: v for k, v in wrapped.items() if k != "sealed"}
        seed = ChaCha20Poly1305(_derive(passphrase, salt, cost)).decrypt(nonce, sealed,
                                                                         canonical(header))
        key = Ed25519PrivateKey.from_private_bytes(seed)
    except InvalidTag:
        raise KeyError_("the passphrase does not unlock this key") from None
    except (ValueError, TypeError, KeyError):
        raise KeyError_("not a flowdoc key file (format flowdoc-key 1) nor a PKCS#8 key") from None
    if public_of(key).hex() != wrapped.get("public"):
        raise KeyError_("the key file's public key is not its private key's")
    return key


def sign(private: Ed25519PrivateKey, message: bytes) -> str:
    return private.sign(message).hex()


def verify_once(public_raw: bytes, message: bytes, signature_hex: str) -> bool:
    """:func:`verify`, remembered by its exact inputs (key, message bytes, signature text):
    the few signatures every write looks at again (a key's registrar countersignature, a
    flow's and org.yaml's sign-offs), and those a verify of the same archive checks again
    (each entry's, each checkpoint's of the history) are checked once a process; any byte
    changed is another question, answered anew."""
    try:
        return _remembered(public_raw, message, signature_hex)
    except TypeError:  # a value that cannot be a key of the memory (a list read from JSON)
        return verify(public_raw, message, signature_hex)


def verify(public_raw: bytes, message: bytes, signature_hex: str) -> bool:
    """Whether ``signature_hex`` is the Ed25519 signature of ``message`` by ``public_raw``."""
    try:
        signature = bytes.fromhex(signature_hex)
        # fromhex skips white space and reads capitals: only the one text of these bytes
        # counts, or a space slipped into a signed file would change no check
        if len(signature) != 64 or len(public_raw) != 32 or signature.hex() != signature_hex:
            return False
        crypto_sign_open(signature + message, public_raw)
    except (CryptoError, ValueError, TypeError):
        return False
    return True


_remembered = lru_cache(maxsize=4096)(verify)
