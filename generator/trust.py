"""The root of trust: who vouches for keys, who signs checkpoints, who witnesses them.

``verify`` must convince an auditor who trusts nobody with write access to the archive. Every
key it accepts therefore traces back to ``flows/trust.yaml``, a file kept under git and
changed only by review, like code:

- **registrars** (the 文控, IT security) vouch for a person's key by countersigning its
  registration (``flowdoc keys approve``); a key nobody vouched for signs nothing;
- **operators** are the archive's own keys: only they sign checkpoints (and audit packages);
- **witnesses** co-sign a checkpoint after checking it extends the last one they signed, as
  Certificate Transparency's witnesses do, so a rewritten history cannot pass unnoticed.

The file is a chain of statements (add or remove one key of one role), each naming the hash
of the one before and signed by a registrar in office at that point; the first is a
registrar's own key, signed by itself and vouched for by the review that committed it. A new
clone checks the whole chain from that first statement. Editing a statement, dropping one or
signing one with any other key breaks the chain, and nothing after the break counts.

A removed key keeps what it signed before its removal valid (its statements carry times, and
an act is judged by the keys in office at the act's time), as a person who left keeps their
earlier signatures (21 CFR 11.10(g)).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import FlowdocError
from .seal.canonical import canonical
from .seal.keys import key_id, verify, verify_once

TRUST_FILE = "trust.yaml"
ROLES = ("registrar", "operator", "witness")
ACTIONS = ("add", "remove")
_FIELDS = ("n", "action", "role", "holder", "key", "public", "time", "prev", "by", "sig")


class TrustError(FlowdocError):
    """The trust root cannot be read or changed as asked; nothing was written."""

    code = "refused"


def now() -> str:
    """The time format of every statement and vouch: seconds, UTC, so times compare as text."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def statement_message(st: dict[str, Any]) -> bytes:
    """What a statement's signature covers: everything but ``by`` and ``sig``. ``type`` keeps
    it from ever being taken for an archive entry or a flow sign-off made with the same key."""
    return canonical({"type": "trust", **{k: st[k] for k in _FIELDS[:8]}})


def statement_hash(st: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: st[k] for k in _FIELDS})).hexdigest()


def vouch_message(person: str, kid: str, public_hex: str, time: str) -> bytes:
    """What a registrar signs to vouch that ``kid`` is ``person``'s key (from ``time`` on)."""
    return canonical({"type": "key-vouch", "person": person, "key": kid, "public": public_hex,
                      "time": time})


@dataclass(frozen=True)
class TrustKey:
    id: str
    role: str
    holder: str  # the person (registrar) or the name of the service or machine
    public: bytes
    since: str  # time of the statement that added it
    until: str | None = None  # time of the one that removed it

    def in_office(self, time: str) -> bool:
        return self.since <= time and (self.until is None or time < self.until)


@dataclass(frozen=True)
class TrustRoot:
    keys: tuple[TrustKey, ...] = ()
    statements: tuple[dict[str, Any], ...] = ()
    problems: tuple[str, ...] = ()  # breaks of the chain: what follows a break does not count
    source: str = TRUST_FILE

    def key(self, kid: str, role: str) -> TrustKey | None:
        return next((k for k in self.keys if k.id == kid and k.role == role), None)

    def of_role(self, role: str, *, active: bool = True) -> tuple[TrustKey, ...]:
        return tuple(k for k in self.keys if k.role == role and (k.until is None or not active))

    def registrar_at(self, kid: str, time: str) -> TrustKey | None:
        k = self.key(kid, "registrar")
        return k if k is not None and k.in_office(time) else None

    def registrar_person(self, person: str) -> TrustKey | None:
        """The person's registrar key in office now, if they are a registrar."""
        return next((k for k in self.of_role("registrar") if k.holder == person), None)

    def why_not_vouched(self, person: str, kid: str, public_hex: str,
                        vouch: dict[str, str] | None) -> str | None:
        """None if ``kid`` is ``person``'s key on the word of the trust root: it is their
        registrar key, or a registrar in office at the vouch's time signed the vouch."""
        own = next((k for k in self.keys if k.id == kid and k.role == "registrar"), None)
        if own is not None:
            return None if own.holder == person else f"key {kid} is {own.holder}'s registrar key"
        if not vouch:
            return f"key {kid} of {person} is not vouched for by a registrar ({self.source})"
        registrar = self.registrar_at(vouch.get("by", ""), vouch.get("time", ""))
        if registrar is None:
            return (f"key {kid} of {person} is vouched for by {vouch.get('by')}, which is not a "
                    f"registrar of {self.source} at {vouch.get('time')}")
        if not verify_once(registrar.public, vouch_message(person, kid, public_hex,
                                                           vouch["time"]), vouch.get("sig", "")):
            return f"key {kid} of {person}: the registrar's countersignature does not verify"
        return None


def check_chain(statements: Iterable[dict[str, Any]], source: str = TRUST_FILE) -> TrustRoot:
    """The trust root the statements establish, up to the first that breaks the chain."""
    keys: dict[tuple[str, str], TrustKey] = {}
    kept: list[dict[str, Any]] = []
    problems: list[str] = []
    prev = ""
    for i, st in enumerate(statements):
        why = _why_broken(i, st, prev, keys)
        if why:
            problems.append(f"{source}: statement {i}: {why}; it and every later one do not count")
            break
        slot = (st["key"], st["role"])
        if st["action"] == "add":
            keys[slot] = TrustKey(st["key"], st["role"], st["holder"],
                                  bytes.fromhex(st["public"]), st["time"])
        else:
            old = keys[slot]
            keys[slot] = TrustKey(old.id, old.role, old.holder, old.public, old.since, st["time"])
        kept.append(st)
        prev = statement_hash(st)
    return TrustRoot(tuple(keys.values()), tuple(kept), tuple(problems), source)


def _why_broken(i: int, st: Any, prev: str, keys: dict[tuple[str, str], TrustKey]) -> str | None:
    if not isinstance(st, dict) or set(st) != set(_FIELDS):
        return f"needs exactly the fields {', '.join(_FIELDS)}"
    if any(not isinstance(st[k], str) for k in _FIELDS if k != "n") or st["n"] != i:
        return f"is not statement number {i} of text fields"
    if st["action"] not in ACTIONS or st["role"] not in ROLES:
        return f"action must be add/remove and role {'/'.join(ROLES)}"
    if st["prev"] != prev:
        return "does not name the hash of the statement before it (the chain was edited)"
    try:
        public = bytes.fromhex(st["public"])
    except ValueError:
        return "public is not hexadecimal"
    if len(public) != 32 or key_id(public) != st["key"]:
        return "key is not the id of its public key"
    slot = (st["key"], st["role"])
    if st["action"] == "add" and slot in keys:
        return f"key {st['key']} is a {st['role']} already"
    if st["action"] == "remove" and (slot not in keys or keys[slot].until is not None):
        return f"key {st['key']} is not a {st['role']} in office"
    if i == 0:
        if not (st["action"] == "add" and st["role"] == "registrar" and st["by"] == st["key"]):
            return "the first statement must add a registrar, signed by that registrar's own key"
        signer = public
    else:
        registrar = keys.get((st["by"], "registrar"))
        if registrar is None or registrar.until is not None or registrar.since > st["time"]:
            return f"is signed by {st['by']}, which is not a registrar in office"
        signer = registrar.public
        if st["action"] == "remove" and st["role"] == "registrar" and not [
                k for k in keys.values() if k.role == "registrar" and k.until is None
                and k.id != st["key"]]:
            return "would remove the last registrar"
    if not verify(signer, statement_message(st), st["sig"]):
        return "its signature does not verify"
    return None


def load_trust(path: Path) -> TrustRoot:
    """``trust.yaml`` checked from its first statement; no file gives an empty root (every key
    then counts as not vouched for, and no checkpoint as signed)."""
    if not path.exists():
        return TrustRoot(problems=(f"{path}: no trust root (flowdoc trust init)",),
                         source=str(path))
    from .yamlsource import YamlProblem, read_yaml

    try:
        data = read_yaml(path, str(path)).data
    except YamlProblem as exc:
        return TrustRoot(problems=(str(exc.problem),), source=str(path))
    statements = data.get("statements") if isinstance(data, dict) else None
    if not isinstance(statements, list):
        return TrustRoot(problems=(f"{path}: needs a list 'statements'",), source=str(path))
    return check_chain(statements, path.name)


def statement(root: TrustRoot, action: str, role: str, holder: str, public: bytes,
              signer: Any, signer_id: str, time: str | None = None) -> dict[str, Any]:
    """The next statement of ``root``'s chain, signed by ``signer`` (a registrar's private key,
    or the new registrar's own for the first)."""
    prev = statement_hash(root.statements[-1]) if root.statements else ""
    st = {"n": len(root.statements), "action": action, "role": role, "holder": holder,
          "key": key_id(public), "public": public.hex(), "time": time or now(), "prev": prev,
          "by": signer_id, "sig": ""}
    from .seal.keys import sign

    st["sig"] = sign(signer, statement_message(st))
    return st


def append_statement(path: Path, root: TrustRoot, st: dict[str, Any]) -> TrustRoot:
    """Write ``root``'s chain with ``st`` added to ``path`` (atomically) and return the new root;
    refuse, writing nothing, if the chain would not accept it."""
    if root.problems and root.statements:
        raise TrustError(root.problems[0])
    new = check_chain([*root.statements, st], path.name)
    if new.problems:
        raise TrustError(new.problems[0])
    from .fileio import write_atomic

    write_atomic(path, render(new.statements))
    return new


def render(statements: Iterable[dict[str, Any]]) -> str:
    lines = ["# The root of trust of flowdoc's archive (generator/trust.py): registrars vouch for",
             "# people's keys, operator keys sign checkpoints and audit packages, witnesses co-sign",
             "# checkpoints. Each statement is signed by a registrar in office and names the hash",
             "# of the one before it. Change it only with `flowdoc trust`, and review the change.",
             "statements:"]
    for st in statements:
        inner = ", ".join(f"{k}: {json.dumps(st[k], ensure_ascii=False)}" for k in _FIELDS)
        lines.append(f"  - {{{inner}}}")
    return "\n".join(lines) + "\n"
