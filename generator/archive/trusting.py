"""Operations on the root of trust: set it up, add and remove keys, unlock the operator key,
co-sign checkpoints as a witness.

The trust root itself (its chain of statements and how it is checked) is
:mod:`generator.trust`; this module writes it, together with what the archive must hold for
it: a new registrar's key registered in the log, the operator key's encrypted file.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..model import Library, PublicKey
from ..seal import keys
from ..seal.canonical import canonical
from ..seal.signoff import Signer
from ..trust import TrustError, TrustRoot, append_statement, load_trust, statement
from . import merkle
from .keyring import unlock_file, unlock_stored
from .store import (
    ArchiveError,
    Checkpoint,
    Store,
    active_key,
    checkpoint_problem,
    key_table,
    parse_checkpoint,
    write_private,
)

OPERATOR_FILE = "operator.key"
OPERATOR_NAME = "归档服务"


def operator_path(archive_root: Path) -> Path:
    """Where the operator key's encrypted file is: ``FLOWDOC_OPERATOR_KEY``, or beside the
    log. Kept apart from the people's keys: it is the archive's, not a person's."""
    env = os.environ.get("FLOWDOC_OPERATOR_KEY")
    return Path(env) if env else Path(archive_root) / OPERATOR_FILE


def unlock_key_file(path: Path, passphrase: str, holder: str = OPERATOR_NAME) -> Signer:
    try:
        private = unlock_file(path, passphrase)
    except (OSError, keys.KeyError_):
        raise ArchiveError(f"{path}: the key file does not unlock with that passphrase") from None
    public = keys.public_of(private)
    return Signer(PublicKey(keys.key_id(public), holder, public), private)


def init_trust(trust_path: Path, archive: Store, library: Library, person: str,
               passphrase: str, operator_passphrase: str) -> TrustRoot:
    """A new trust root: ``person`` its first registrar (a new key, registered in the
    archive's log) and one operator key (its file encrypted with ``operator_passphrase``)."""
    if trust_path.exists() and load_trust(trust_path).statements:
        raise TrustError(f"{trust_path} holds a trust root already; add to it with "
                         "flowdoc trust add")
    if library.org is None or library.org.person(person) is None:
        raise TrustError(f"'{person}' is not a person in org.yaml")
    for secret in (passphrase, operator_passphrase):
        if len(secret) < keys.MIN_PASSPHRASE:
            raise TrustError(f"a passphrase needs at least {keys.MIN_PASSPHRASE} characters")
    registrar, operator = keys.generate(), keys.generate()
    rid = keys.key_id(keys.public_of(registrar))
    key_file = operator_path(archive.local_dir)
    if key_file.exists():
        raise TrustError(f"{key_file} exists already; move it away first")
    root = TrustRoot(source=trust_path.name)
    st = statement(root, "add", "registrar", person, keys.public_of(registrar), registrar, rid)
    root = append_statement(trust_path, root, st)
    st = statement(root, "add", "operator", OPERATOR_NAME, keys.public_of(operator), registrar,
                   rid)
    root = append_statement(trust_path, root, st)
    write_private(key_file, keys.encrypt(operator, operator_passphrase))
    signer = Signer(PublicKey(keys.key_id(keys.public_of(operator)), OPERATOR_NAME,
                              keys.public_of(operator)), operator)
    from .events import new_person_key

    new_person_key(archive.with_operator(signer), replace(library, trust=root), person,
                   passphrase, private=registrar)
    return root


def add_key(trust_path: Path, archive: Store, library: Library, registrar: str,
            passphrase: str, role: str, holder: str, new_passphrase: str | None = None,
            key_file: Path | None = None) -> tuple[TrustRoot, str]:
    """Add a key to the trust root, signed by ``registrar``: for a registrar, ``holder``'s
    active (vouched) key in the log; for an operator or witness, a new key whose file,
    encrypted with ``new_passphrase``, is written to ``key_file``. ``(root, key id)``."""
    root = load_trust(trust_path)
    signer = _registrar(archive, root, registrar, passphrase)
    if role == "registrar":
        table = key_table(archive.key_entries(), root)
        kid = active_key(table, holder)
        if kid is None:
            raise TrustError(f"{holder} has no vouched key in {archive.name} (flowdoc keys new, "
                             "then keys approve)")
        public = bytes.fromhex(table[kid]["public"])
    elif role in ("operator", "witness"):
        if key_file is None or new_passphrase is None:
            raise TrustError(f"a new {role} key needs a key file and its passphrase")
        if key_file.exists():
            raise TrustError(f"{key_file} exists already")
        if len(new_passphrase) < keys.MIN_PASSPHRASE:
            raise TrustError(f"a passphrase needs at least {keys.MIN_PASSPHRASE} characters")
        private = keys.generate()
        public = keys.public_of(private)
    else:
        raise TrustError(f"role must be registrar, operator or witness, not '{role}'")
    st = statement(root, "add", role, holder, public, signer.private, signer.key.id)
    root = append_statement(trust_path, root, st)
    if role != "registrar":
        assert key_file is not None and new_passphrase is not None
        write_private(key_file, keys.encrypt(private, new_passphrase))
    return root, keys.key_id(public)


def remove_key(trust_path: Path, archive: Store, registrar: str, passphrase: str,
               kid: str) -> TrustRoot:
    root = load_trust(trust_path)
    signer = _registrar(archive, root, registrar, passphrase)
    found = [k for k in root.keys if k.id == kid and k.until is None]
    if not found:
        raise TrustError(f"no key {kid} in office in {trust_path}")
    k = found[0]
    st = statement(root, "remove", k.role, k.holder, k.public, signer.private, signer.key.id)
    return append_statement(trust_path, root, st)


def _registrar(archive: Store, root: TrustRoot, person: str, passphrase: str) -> Signer:
    k = root.registrar_person(person)
    message = f"{person}: no registrar key of theirs unlocks with that passphrase"
    if k is None:
        raise TrustError(message)
    try:
        private = unlock_stored(archive, k.id, passphrase)
    except (ArchiveError, keys.KeyError_):
        raise TrustError(message) from None
    return Signer(PublicKey(k.id, person, k.public), private)


# -- witnesses (their co-signatures kept by the store: Store.cosignature) ----------------------


def cosign_message(cp: Checkpoint) -> bytes:
    return canonical({"type": "cosign", **cp.body(), "signature": cp.signature})


def root_at(log: Store, size: int, end: int) -> str:
    """The Merkle root of the first ``size`` lines of the log (up to byte ``end``)."""
    frontier = merkle.Frontier()
    if size:
        for i, (_, line) in enumerate(log.lines(0, end)):
            if i >= size:
                break
            frontier.append(merkle.leaf_hash(line))
        if frontier.size < size:
            return ""
    return frontier.root().hex()


def witness(archive: Store, trust: TrustRoot, signer: Signer, state_file: Path
            ) -> dict[str, Any]:
    """Co-sign the archive's checkpoint after checking that it is signed by an operator of
    the trust root and that the log extends the checkpoint this witness signed last (kept in
    ``state_file``, outside the archive). Refuses, co-signing nothing, otherwise."""
    if trust.key(signer.key.id, "witness") is None or \
            trust.key(signer.key.id, "witness").until is not None:
        raise TrustError(f"key {signer.key.id} is not a witness of the trust root")
    cp = archive.checkpoint()
    if cp is None:
        raise ArchiveError(f"{archive.name}: no checkpoint to co-sign")
    why = checkpoint_problem(cp, trust)
    if why:
        raise ArchiveError(f"refused: {why}")
    if root_at(archive, cp.size, cp.bytes) != cp.root:
        raise ArchiveError("refused: the log does not give the checkpoint's root")
    if state_file.exists():
        try:
            last = parse_checkpoint(state_file.read_bytes())
        except ValueError as exc:
            raise ArchiveError(f"{state_file}: not a checkpoint ({exc})") from None
        if last.size > cp.size:
            raise ArchiveError(f"refused: rollback: I co-signed {last.size} entries; the "
                               f"checkpoint has {cp.size}")
        if root_at(archive, last.size, cp.bytes) != last.root:
            raise ArchiveError(f"refused: fork: the log's first {last.size} entries are not "
                               "the ones I co-signed")
    cosigned = {"checkpoint": cp.as_dict(), "witness": signer.key.id,
                "signature": signer.sign(cosign_message(cp))}
    from ..fileio import write_atomic

    archive.put_cosignature(signer.key.id, canonical(cosigned))
    write_atomic(state_file, canonical(cp.as_dict()))
    return cosigned


def witness_findings(archive: Store, trust: TrustRoot, cp: Checkpoint, size: int
                     ) -> tuple[list[str], list[str]]:
    """``(findings, notes)`` about the co-signatures of the trust root's witnesses: none, or
    one that does not verify or that the log does not extend, is a finding; one that lags
    behind the checkpoint is a note (a witness runs after the writers)."""
    findings: list[str] = []
    notes: list[str] = []
    for k in trust.of_role("witness"):
        raw = archive.cosignature(k.id)
        if raw is None:
            findings.append(f"witness {k.holder} ({k.id}) has co-signed no checkpoint")
            continue
        try:
            data = json.loads(raw)
            signed = parse_checkpoint(canonical(data["checkpoint"]))
            ok = keys.verify(k.public, cosign_message(signed), data["signature"])
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            findings.append(f"witness {k.holder} ({k.id}): the co-signature does not verify")
            continue
        if signed.size > size or root_at(archive, signed.size, cp.bytes) != signed.root:
            findings.append(f"witness {k.holder} co-signed a checkpoint of {signed.size} entries "
                            "that this log does not extend (rolled back or forked)")
        elif signed.size < cp.size:
            notes.append(f"witness {k.holder} has co-signed {signed.size} of {cp.size} entries "
                         "(run flowdoc witness)")
    return findings, notes


def unlock_operator(archive_root: Path, passphrase: str | None) -> Signer | None:
    path = operator_path(archive_root)
    if passphrase is None or not path.exists():
        return None
    return unlock_key_file(path, passphrase)


def checkpoint_json(archive: Store) -> bytes:
    cp = archive.checkpoint()
    if cp is None:
        raise ArchiveError(f"{archive.name}: no checkpoint (the archive is empty)")
    return canonical(cp.as_dict())
