"""Flow sign-offs signed with the signer's own key and verified against flows/keys.yaml.

A sign-off entry carries ``key`` and ``sig``: an Ed25519 signature by the person's archive key
(generator.seal.keys) over the canonical bytes of what they signed — the flow code, the
meaning (编制/审核/批准), their name, the date and the content hash. Typing a name and a hash
into the YAML no longer makes a flow 受控; only the holder of the key and its passphrase can.

The public halves are registered in ``flows/keys.yaml``, committed beside org.yaml, rather than
looked up in the archive at check and build time: the archive (records/) is data git ignores,
so a fresh clone has none, and a build must give the same bytes from what git holds alone.
Adding a key to keys.yaml is then a reviewed change like any other, Doorstop-style; the private
halves stay in the archive's keystore, encrypted with their owner's passphrase.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from ..model import Flow, Org, PublicKey, Signature, Signoff

KEYS_FILE = "keys.yaml"
ORG_CODE = "org.yaml"  # what an org.yaml sign-off names in place of a flow code
KEY_ID_RE = re.compile(r"[0-9a-f]{32}")
SIG_RE = re.compile(r"[0-9a-f]{128}")
PUBLIC_RE = re.compile(r"[0-9a-f]{64}")
MEANING_OF = {"prepared": "编制", "reviewed": "审核", "approved": "批准"}


def signoff_message(code: str, meaning: str, person: str, on: dt.date, content_hash: str) -> bytes:
    """The bytes a flow sign-off signature covers. ``type`` keeps it from ever being taken for
    a signed archive event made with the same key."""
    from .canonical import canonical

    return canonical({"type": "flow-signoff", "flow": code, "meaning": meaning, "person": person,
                      "date": on.isoformat(), "hash": content_hash})


def key_id(public: bytes) -> str:
    from .keys import key_id as archive_key_id

    return archive_key_id(public)


def why_invalid(entry: Signature, code: str, meaning: str,
                keys: Mapping[str, PublicKey]) -> str | None:
    """Why ``entry`` is not a valid signature of ``code``'s ``meaning``; None if it is."""
    if entry.hash is None:
        return "is not bound to the content"
    if entry.key is None or entry.sig is None:
        return "carries no signature (a hash stamp without the signer's key)"
    key = keys.get(entry.key)
    if key is None:
        return f"was signed with key {entry.key}, which is not in keys.yaml"
    if key.person != entry.by:
        return f"was signed with key {entry.key}, which is {key.person}'s, not {entry.by}'s"
    if not _verifies(key.public, code, meaning, entry.by, entry.on, entry.hash, entry.sig):
        return "has a signature that does not verify (the entry was altered or forged)"
    return None


@lru_cache(maxsize=4096)
def _verifies(public: bytes, code: str, meaning: str, by: str, on: dt.date, content_hash: str,
              sig: str) -> bool:
    """Whether the signature verifies, remembered: every event a writer checks asks again
    whether its flow is signed off, and the message alone costs a canonical encoding."""
    # remembered here, by the fields: keys.verify_once would keep the same verdict again
    from .keys import verify

    return verify(public, signoff_message(code, meaning, by, on, content_hash), sig)


def verified(signoff: Signoff, code: str, keys: Mapping[str, PublicKey]) -> Signoff:
    """``signoff`` with every entry's verdict filled in."""
    changes: dict[str, Any] = {}
    for key, meaning, entry in signoff.entries():
        if entry is not None:
            changes[key] = replace(entry, invalid=why_invalid(entry, code, meaning, keys))
    return replace(signoff, **changes)


def verify_flow(flow: Flow, keys: Mapping[str, PublicKey]) -> Flow:
    if not any(e for _, _, e in flow.signoff.entries()):
        return flow
    return replace(flow, signoff=verified(flow.signoff, flow.code, keys))


def verify_org(org: Org, keys: Mapping[str, PublicKey]) -> Org:
    if not any(e for _, _, e in org.signoff.entries()):
        return org
    return replace(org, signoff=verified(org.signoff, ORG_CODE, keys))


@dataclass(frozen=True)
class Signer:
    """An unlocked signing key: its registration and the private half (in memory only)."""

    key: PublicKey
    private: Any  # cryptography's Ed25519PrivateKey

    def sign(self, message: bytes) -> str:
        from .keys import sign

        return sign(self.private, message)


def render_keys(keys: tuple[PublicKey, ...]) -> str:
    lines = ["# Public halves of the signing keys of flow and org.yaml sign-offs (flowdoc flow sign",
             "# adds them), each with the countersignature of the registrar (trust.yaml) who vouched",
             "# for it. `flowdoc check` and the manual verify every 编制/审核/批准 signature against",
             "# these; the private halves stay in each person's keystore, never in this repository.",
             "keys:"]
    for k in keys:
        vouch = dict(k.vouch)
        extra = (", vouch: {" + ", ".join(f"{n}: {json.dumps(vouch[n])}" for n in ("by", "time", "sig"))
                 + "}") if vouch else ""
        lines.append(f"  - {{id: \"{k.id}\", person: {json.dumps(k.person, ensure_ascii=False)}, "
                     f"public: \"{k.public.hex()}\"{extra}}}")
    return "\n".join(lines) + "\n"
