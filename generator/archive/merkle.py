"""The Merkle tree of Certificate Transparency (RFC 9162 §2.1), its proofs and their checks.

Leaves are hashed as SHA-256(0x00 || entry) and nodes as SHA-256(0x01 || left || right), so a
leaf can never pass for a node. An inclusion proof shows one entry is in a tree of a given
size and root; a consistency proof shows a later tree extends an earlier one unchanged — what
an auditor who kept an old checkpoint needs to know the log was only appended to.
Everything here is pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over already hashed leaves."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    level = list(leaves)
    # bottom-up over complete subtrees gives the same tree as the recursive definition
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is not in a tree of {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root(leaves[:k])]


def consistency_proof(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1, for 0 < m <= n."""
    n = len(leaves)
    if not 0 < m <= n:
        raise ValueError(f"no consistency proof from {m} to {n}")
    return _subproof(m, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges ``[start, end)`` whose subtree roots are PATH(index, D[size]), in the
    proof's order: :func:`inclusion_proof` without the leaves, so that a proof of a large log
    can be made from its leaves streamed once (:func:`range_roots`)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    outer_first = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            outer_first.append((start + k, end))
            end = start + k
        else:
            outer_first.append((start, start + k))
            start += k
    return outer_first[::-1]


def consistency_ranges(m: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose subtree roots are PROOF(m, D[size]), in the proof's order."""
    if not 0 < m <= size:
        raise ValueError(f"no consistency proof from {m} to {size}")
    outer_first = []
    start, end, complete = 0, size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            outer_first.append((start + k, end))
            end = start + k
        else:
            outer_first.append((start, start + k))
            m -= k
            start += k
            complete = False
    if not complete:
        outer_first.append((start, end))
    return outer_first[::-1]


def range_roots(ranges: Sequence[tuple[int, int]], leaves: Iterable[bytes]) -> list[bytes]:
    """The root of each of the disjoint ``ranges`` of ``leaves`` (hashed), read once, in
    O(log n) memory."""
    todo = sorted((start, end, j) for j, (start, end) in enumerate(ranges))
    roots = [b""] * len(ranges)
    at, frontier = 0, Frontier()
    for i, leaf in enumerate(leaves):
        while at < len(todo) and i >= todo[at][1]:
            at += 1
        if at == len(todo):
            break
        start, end, j = todo[at]
        if i < start:
            continue
        if i == start:
            frontier = Frontier()
        frontier.append(leaf)
        if i == end - 1:
            roots[j] = frontier.root()
    if any(not r for r in roots):
        raise ValueError("fewer leaves than the ranges cover")
    return roots


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes],
                     expected_root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2."""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first tree is a subtree of the second
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


class Frontier:
    """The right edge of a tree: the roots of its perfect subtrees, largest first (one per set
    bit of the size). Enough to append leaves and give the root without any earlier leaf, so a
    writer or a verifier needs O(log n) memory and time per leaf at any archive size."""

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a frontier of {size} leaves has {size.bit_count()} hashes, "
                             f"not {len(hashes)}")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        self.hashes.append(leaf)
        n = self.size
        while n & 1:  # each trailing 1-bit of the old size is a subtree the new leaf completes
            right = self.hashes.pop()
            self.hashes[-1] = node_hash(self.hashes[-1], right)
            n >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        r = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            r = node_hash(h, r)
        return r

    def copy(self) -> Frontier:
        return Frontier(self.size, self.hashes)


class Tree:
    """Every complete subtree's root of a log's leaves, kept as leaves are appended: the root of
    any range, hence an inclusion proof, in O(log² n) hashes instead of a pass over the log (a
    record page proves its record on every view). Two hashes of memory a leaf."""

    def __init__(self) -> None:
        # levels[k][j]: the root of leaves [j·2^k, (j+1)·2^k)
        self.levels: list[list[bytes]] = [[]]

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> None:
        self.levels[0].append(leaf)
        k = 0
        while len(self.levels[k]) % 2 == 0:
            if k + 1 == len(self.levels):
                self.levels.append([])
            self.levels[k + 1].append(node_hash(self.levels[k][-2], self.levels[k][-1]))
            k += 1

    def range_root(self, start: int, end: int) -> bytes:
        """MTH of leaves ``[start, end)``."""
        n = end - start
        if n <= 0 or start < 0 or end > self.size:
            raise ValueError(f"no leaves {start}..{end} in a tree of {self.size}")
        k = n.bit_length() - 1
        if n == 1 << k and start % n == 0:
            return self.levels[k][start >> k]
        half = _split(n)
        return node_hash(self.range_root(start, start + half), self.range_root(start + half, end))

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[size]) for a tree of the first ``size`` leaves."""
        return [self.range_root(a, b) for a, b in inclusion_ranges(index, size)]
