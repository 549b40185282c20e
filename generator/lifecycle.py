"""Document control of flows: sign-offs bound to content, written back into the flow file.

A signature in the 编制/审核/批准 block records the sha256 of the flow's content (everything but
its status and sign-off) as the signer saw it, the way Doorstop binds review stamps to item
hashes, and the signer's Ed25519 signature over it made with their own archive key (see
:mod:`generator.seal.signoff`). Change a step after approval and the hashes no longer match; alter
or forge an entry and its signature no longer verifies: either way ``flowdoc check`` warns,
and every published copy prints the flow as 草稿 until it is signed again.

The flow file is edited only in its ``signoff:`` block, so its comments and layout stay as the
document controller wrote them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

from .checks import check_signoff
from .errors import FlowdocError, Problem
from .fileio import write_atomic
from .loader import load_flow, load_org
from .model import Flow, Org, PublicKey, Signature, Signoff
from .seal.signoff import KEYS_FILE, ORG_CODE, Signer, render_keys, signoff_message

MEANINGS = {"编制": "prepared", "审核": "reviewed", "批准": "approved"}


class SignError(FlowdocError):
    """The sign-off is refused; nothing was written."""

    code = "refused"


def signed(flow: Flow, org: Org, person: str, meaning: str, on: dt.date) -> Signoff:
    """The flow's sign-off with ``person``'s signature for ``meaning`` added (pure).

    Raises :class:`SignError` if the result would break a sign-off rule: an unknown person,
    dates out of order, the preparer approving, or a 受控 sign-off by fewer than three people.
    """
    if meaning not in MEANINGS:
        raise SignError(f"meaning must be one of {'/'.join(MEANINGS)}, not '{meaning}'")
    if org.person(person) is None:
        raise SignError(f"'{person}' is not a person in org.yaml")
    # A signature given to other content stays on record (stale, and reported as such) until
    # its signer signs this content; dates are compared only between signatures of one content.
    result = replace(flow.signoff, **{MEANINGS[meaning]: Signature(person, on, flow.content_hash)})
    problems = check_signoff(result, org, flow.origin, flow.status if result.complete else "",
                             "flow")
    if problems:
        raise SignError(problems[0].message)
    return result


def render_signoff(signoff: Signoff) -> str:
    lines = ["signoff:"]
    for key, _, entry in signoff.entries():
        if entry is not None:
            extra = "".join(f", {name}: {value}" for name, value in
                            (("hash", entry.hash), ("key", entry.key), ("sig", entry.sig)) if value)
            lines.append(f"  {key}: {{by: {entry.by}, on: {entry.on.isoformat()}{extra}}}")
    return "\n".join(lines) + "\n"


_TOP_KEY = re.compile(r"^[^\s#]")


def replace_signoff_block(text: str, block: str) -> str:
    """``text`` with its top-level ``signoff:`` block replaced by ``block`` (or appended)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith("signoff:")), None)
    if start is None:
        return text.rstrip("\n") + "\n\n" + block
    end = start + 1
    while end < len(lines) and not _TOP_KEY.match(lines[end]):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # keep the blank lines that separate it from what follows
    return "".join(lines[:start]) + block + "".join(lines[end:])


def unlock_signer(archive_dir: Path, person: str, passphrase: str, trust=None) -> Signer:
    """``person``'s active archive key (vouched for by a registrar), unlocked with their
    passphrase, with the registrar's countersignature that keys.yaml carries beside it.

    Raises a one-line :class:`FlowdocError` if they have no such key or the passphrase does
    not unlock it — one message for both (the passphrase itself is never part of a message)."""
    from .archive.location import open_store
    from .archive.store import active_key, key_table
    from .trust import TrustRoot

    trust = trust if trust is not None else TrustRoot()
    archive = open_store(archive_dir)
    entries = archive.key_entries()
    table = key_table(entries, trust)
    kid = active_key(table, person)
    from .archive.events import UNLOCK_FAILED

    message = UNLOCK_FAILED.format(person=person)
    if kid is None:
        raise SignError(message)
    try:
        from .archive.keyring import unlock_stored

        private = unlock_stored(archive, kid, passphrase)
    except FlowdocError:
        raise SignError(message) from None
    vouch: tuple[tuple[str, str], ...] = ()
    for e in entries:
        if e["type"] == "approve" and e["key_id"] == kid and e["seq"] == table[kid]["vouched"]:
            vouch = (("by", e["vouch_by"]), ("time", e["time"]), ("sig", e["vouch"]))
    return Signer(PublicKey(kid, person, bytes.fromhex(table[kid]["public"]), vouch), private)


def sign_file(path: Path, flow: Flow, org: Org, person: str, meaning: str, signer: Signer,
              on: dt.date | None = None) -> Signoff:
    """Sign ``flow`` (read from ``path``) with ``signer``'s key and write the new sign-off into
    the file, and the key's public half into keys.yaml beside it if it is not there yet.

    Both files are replaced atomically and restored if the result does not load back as a
    verified signature: nothing is left half-written."""
    if signer.key.person != person:
        raise SignError(f"the key {signer.key.id} is {signer.key.person}'s, not {person}'s")
    on = on or dt.date.today()
    signoff = signed(flow, org, person, meaning, on)
    entry = replace(getattr(signoff, MEANINGS[meaning]), key=signer.key.id,
                    sig=signer.sign(signoff_message(flow.code, meaning, person, on,
                                                    flow.content_hash)))
    signoff = replace(signoff, **{MEANINGS[meaning]: entry})
    return _write_signed(path, signoff, signer, meaning, flow.content_hash,
                         lambda p: load_flow(p))


def sign_org_file(org: Org, person: str, meaning: str, signer: Signer,
                  on: dt.date | None = None) -> Signoff:
    """Sign org.yaml's own 编制/审核/批准 (who may sign what is a controlled document too),
    bound to the hash of its content, and write it back as :func:`sign_file` does."""
    if signer.key.person != person:
        raise SignError(f"the key {signer.key.id} is {signer.key.person}'s, not {person}'s")
    on = on or dt.date.today()
    if meaning not in MEANINGS:
        raise SignError(f"meaning must be one of {'/'.join(MEANINGS)}, not '{meaning}'")
    if org.person(person) is None:
        raise SignError(f"'{person}' is not a person in org.yaml")
    signoff = replace(org.signoff, **{MEANINGS[meaning]: Signature(person, on, org.content_hash)})
    problems = check_signoff(signoff, org, org.origin, "受控" if signoff.complete else "",
                             "org.yaml")
    if problems:
        raise SignError(problems[0].message)
    entry = replace(getattr(signoff, MEANINGS[meaning]), key=signer.key.id,
                    sig=signer.sign(signoff_message(ORG_CODE, meaning, person, on,
                                                    org.content_hash)))
    signoff = replace(signoff, **{MEANINGS[meaning]: entry})

    def reload(p: Path) -> Org:
        loaded = load_org(p.parent)
        if loaded is None:
            raise SignError(f"{p}: does not load")
        return loaded

    return _write_signed(Path(org.origin.source), signoff, signer, meaning, org.content_hash,
                         reload)


def _write_signed(path: Path, signoff: Signoff, signer: Signer, meaning: str,
                  content_hash: str, reload) -> Signoff:
    keys_path = path.parent / KEYS_FILE
    old_keys = keys_path.read_bytes() if keys_path.exists() else None
    registered = list(_registered_keys(path))
    known = next((k for k in registered if k.id == signer.key.id), None)
    if known is not None and (known.person, known.public) != (signer.key.person,
                                                              signer.key.public):
        raise SignError(f"{keys_path}: key {known.id} is registered to {known.person} with "
                        "another public key; nothing was changed")
    original = path.read_text(encoding="utf-8")
    updated = replace_signoff_block(original, render_signoff(signoff))

    def restore() -> None:
        write_atomic(path, original)
        if old_keys is None:
            keys_path.unlink(missing_ok=True)
        else:
            write_atomic(keys_path, old_keys)

    if known is None or known.vouch != signer.key.vouch:
        others = [k for k in registered if k.id != signer.key.id]
        write_atomic(keys_path, render_keys((*others, signer.key)))
    write_atomic(path, updated)
    try:
        check = reload(path)
    except FlowdocError:
        restore()
        raise SignError(f"{path}: the signed file would not load; nothing was changed") from None
    written = getattr(check.signoff, MEANINGS[meaning])
    if (check.signoff != signoff or check.content_hash != content_hash or written is None
            or not written.valid):
        restore()
        raise SignError(f"{path}: the sign-off could not be written back; nothing was changed")
    return check.signoff


def _registered_keys(path: Path) -> tuple[PublicKey, ...]:
    from .errors import ProblemsError
    from .loader import read_keys_file

    problems: list[Problem] = []
    keys = read_keys_file(path.parent, problems)
    if problems:
        raise ProblemsError(problems)
    return keys
