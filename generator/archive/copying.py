"""``flowdoc archive copy``: an archive from one store into another, byte for byte.

The destination gets the source's canonical lines, blobs, private keys and its signed
checkpoint as they are (nothing is signed again: the copy is the same archive, so ``verify``
gives the same findings and every proof the same root). Resumable: a destination that holds
the first entries of the source (its checkpoint's root is the root of the source's first
entries) receives the rest; one that holds anything else is refused, nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass

from .store import ArchiveError, Store, parse_checkpoint
from .trusting import root_at


@dataclass(frozen=True)
class Copied:
    """What a copy did: entries appended, blobs and private keys added, the size now."""

    entries: int
    blobs: int
    keys: int
    size: int


def copy_archive(src: Store, dst: Store) -> Copied:
    """Copy ``src`` into ``dst`` (blobs and keys first, then the log and its checkpoint as
    one commit of the destination)."""
    raw = src.raw_checkpoint()
    if raw is None:
        raise ArchiveError(f"{src.name}: no checkpoint: nothing to copy")
    try:
        cp = parse_checkpoint(raw)
    except ValueError as exc:
        raise ArchiveError(f"{src.name}: the checkpoint is not one ({exc}); run flowdoc "
                           "verify") from None
    have = dst.checkpoint()
    nbytes = have.bytes if have else 0
    if have is not None and (have.size > cp.size or
                             root_at(src, have.size, cp.bytes) != have.root):
        raise ArchiveError(f"{dst.name} holds a different history ({have.size} entries, root "
                           f"{have.root[:16]}…) than {src.name}; nothing was written")
    blobs = keys = 0
    for digest in src.blob_digests():  # before the log names them
        if dst.blob_problem(digest) is not None:
            dst.put_copied("blob", digest, src.blob(digest))
            blobs += 1
    mine = set(dst.private_key_ids())
    for kid in src.private_key_ids():
        if kid not in mine:
            dst.put_copied("key", kid, src.private_key(kid))
            keys += 1
    lines = [line for _, line in src.lines(nbytes, cp.bytes)]
    if lines or dst.raw_checkpoint() != raw:
        dst.import_log(lines, raw)
    return Copied(len(lines), blobs, keys, cp.size)
