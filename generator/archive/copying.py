"""``flowdoc archive copy``: an archive from one store into another, byte for byte.

The destination gets the source's canonical lines, blobs, private keys, every signed
checkpoint the source committed (its whole checkpoint history, not only the head) and every
witness co-signature, as they are (nothing is signed again: the copy is the same archive, so
``verify`` gives the same findings and every proof the same root). Resumable: a destination
whose checkpoint history is the start of the source's (or, for a folder made before the
history was kept, whose head is one of the source's checkpoints) receives the rest; one that
holds anything else — another checkpoint, a co-signature the source does not have — is
refused before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from .store import ArchiveError, Store, parse_checkpoint
from .trusting import root_at


@dataclass(frozen=True)
class Copied:
    """What a copy did: entries, checkpoints and co-signatures appended, blobs and private
    keys added, the size now."""

    entries: int
    blobs: int
    keys: int
    size: int
    checkpoints: int = 0
    cosignatures: int = 0


def copy_archive(src: Store, dst: Store) -> Copied:
    """Copy ``src`` into ``dst``: blobs and keys first, then the log and the checkpoints
    committed over it as one commit of the destination, then the co-signatures (each of a
    checkpoint the destination then holds)."""
    history = src.checkpoint_history()
    if not history:
        raise ArchiveError(f"{src.name}: no checkpoint: nothing to copy")
    try:
        cp = parse_checkpoint(history[-1])
    except ValueError as exc:
        raise ArchiveError(f"{src.name}: the checkpoint is not one ({exc}); run flowdoc "
                           "verify") from None
    mine = dst.checkpoint_history() if dst.exists() else []
    have = dst.checkpoint() if mine else None
    start = _common(history, mine)
    if mine and (start is None or have is None or have.size > cp.size or
                 root_at(src, have.size, cp.bytes) != have.root):
        raise ArchiveError(f"{dst.name} holds a different history ({have.size if have else 0} "
                           f"entries, root {have.root[:16] if have else '?'}…) than "
                           f"{src.name}; nothing was written")
    theirs, ours = src.cosignatures(), dst.cosignatures() if mine else []
    extra = [c for c in ours if c not in theirs]
    if extra:
        raise ArchiveError(f"{dst.name} holds a co-signature by witness {extra[0][0]} that "
                           f"{src.name} does not; nothing was written")
    blobs = keys = 0
    for digest in src.blob_digests():  # before the log names them
        if dst.blob_problem(digest) is not None:
            dst.put_copied("blob", digest, src.blob(digest))
            blobs += 1
    held = set(dst.private_key_ids())
    for kid in src.private_key_ids():
        if kid not in held:
            dst.put_copied("key", kid, src.private_key(kid))
            keys += 1
    new = history[start:] if mine else history
    lines = [line for _, line in src.lines(have.bytes if have else 0, cp.bytes)]
    if new:
        dst.import_log(lines, new)
    added = [c for c in theirs if c not in ours]
    for witness, raw in added:
        dst.put_cosignature(witness, raw)
    return Copied(len(lines), blobs, keys, cp.size, len(new), len(added))


def _common(history: list[bytes], mine: list[bytes]) -> int | None:
    """Where the source's ``history`` goes on after the destination's ``mine``: the index
    after ``mine``'s last checkpoint, when ``mine`` is the run of ``history`` ending there
    (the start of it, or a folder's head alone); None when it is not."""
    if not mine:
        return 0
    try:
        k = len(history) - 1 - history[::-1].index(mine[-1])
    except ValueError:
        return None
    if len(mine) > 1 and history[:k + 1] != mine:
        return None
    return k + 1
