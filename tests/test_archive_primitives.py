"""The archive's pure foundations: canonical JSON and the RFC 9162 Merkle tree and proofs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.archive import merkle
from generator.seal.canonical import (
    CanonicalError,
    _encode,
    canonical,
    digest,
    is_canonical,
)

# The tree of RFC 6962's reference implementation (certificate-transparency): these eight
# leaves and the roots of their first n leaves.
LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
          b"\x50\x51\x52\x53\x54\x55\x56\x57", bytes(range(0x60, 0x70))]
ROOTS = ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
HASHED = [merkle.leaf_hash(x) for x in LEAVES]


def test_roots_match_the_reference_vectors():
    assert merkle.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for n, expected in enumerate(ROOTS, start=1):
        assert merkle.root(HASHED[:n]).hex() == expected


def tree(n: int) -> list[bytes]:
    return [merkle.leaf_hash(f"entry {i}".encode()) for i in range(n)]


@pytest.mark.parametrize("n", range(1, 34))
def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not(n):
    leaves = tree(n)
    top = merkle.root(leaves)
    for i in range(n):
        proof = merkle.inclusion_proof(i, leaves)
        assert merkle.verify_inclusion(i, n, leaves[i], proof, top)
        assert not merkle.verify_inclusion(i, n, merkle.leaf_hash(b"forged"), proof, top)
        if n > 1:
            assert not merkle.verify_inclusion((i + 1) % n, n, leaves[i], proof, top)
        if proof:
            bad = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
            assert not merkle.verify_inclusion(i, n, leaves[i], bad, top)
            assert not merkle.verify_inclusion(i, n, leaves[i], proof[:-1], top)


@pytest.mark.parametrize("n", range(1, 34))
def test_every_consistency_proof_verifies_and_a_rewritten_history_does_not(n):
    leaves = tree(n)
    top = merkle.root(leaves)
    for m in range(1, n + 1):
        proof = merkle.consistency_proof(m, leaves)
        old = merkle.root(leaves[:m])
        assert merkle.verify_consistency(m, n, old, top, proof)
        if m < n:
            rewritten = merkle.root([merkle.leaf_hash(b"changed"), *leaves[1:m]])
            assert not merkle.verify_consistency(m, n, rewritten, top, proof)
            if proof:
                assert not merkle.verify_consistency(m, n, old, top, proof[1:])


def test_leaves_and_nodes_cannot_be_confused():
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.leaf_hash(a + b) != merkle.node_hash(a, b)


def test_canonical_json_sorts_by_utf16_and_escapes_only_what_it_must():
    value = {"\U0001f600": 1, "\ufb33": 2, "b": [True, None, "请假\n\"x\""], "a": {"z": 0, "y": -5}}
    out = canonical(value).decode("utf-8")
    assert out == ('{"a":{"y":-5,"z":0},"b":[true,null,"请假\\n\\"x\\""],'
                   '"\U0001f600":1,"\ufb33":2}')  # U+1F600 is D83D DE00 in UTF-16, before FB33
    assert is_canonical(out.encode())
    assert not is_canonical(b'{"b":1, "a":2}')
    assert digest({"a": 1}) == digest({"a": 1}) != digest({"a": 2})


@pytest.mark.parametrize("bad", [1.5, {1: "x"}, 2**60, {"d": object()}])
def test_values_without_a_canonical_form_are_refused(bad):
    with pytest.raises(CanonicalError):
        canonical(bad)


@given(st.recursive(st.none() | st.booleans() | st.integers(-2**53 + 1, 2**53 - 1) | st.text(),
                    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
                    max_leaves=20))
def test_canonical_form_is_stable_and_round_trips(value):
    import json

    data = canonical(value)
    assert canonical(json.loads(data)) == data
    assert is_canonical(data)
    assert data == _encode(value).encode("utf-8")  # the fast path and the careful one agree


def _reference_is_canonical(data: bytes) -> bool:
    """The definition: re-encode what the bytes hold with the careful encoder and compare."""
    import json

    try:
        return _encode(json.loads(data.decode("utf-8"))).encode("utf-8") == data
    except (UnicodeDecodeError, ValueError, CanonicalError, RecursionError):
        return False


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**60, 2**60) | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4),
                                                                      children, max_size=4),
    max_leaves=12)


@given(JSON_VALUES, st.sampled_from(["canonical", "pretty", "ascii", "unsorted"]))
def test_the_one_pass_canonical_check_agrees_with_the_definition(value, style):
    """verify checks every entry with loads_canonical (one parse, the C encoder): it must accept
    and refuse exactly what re-encoding with the careful encoder accepts — floats, NaN, unsafe
    integers, astral keys (UTF-16 order), escapes and white space included."""
    import json

    from generator.seal.canonical import NOT_CANONICAL, loads_canonical

    try:
        text = {"canonical": lambda: _encode(value),
                "pretty": lambda: json.dumps(value, ensure_ascii=False, indent=1),
                "ascii": lambda: json.dumps(value, sort_keys=True, separators=(",", ":")),
                "unsorted": lambda: json.dumps(value, ensure_ascii=False, separators=(",", ":"))
                }[style]()
    except (CanonicalError, ValueError):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    data = text.encode("utf-8", "surrogatepass")
    expected = _reference_is_canonical(data)
    assert (loads_canonical(data) is not NOT_CANONICAL) == expected
    assert is_canonical(data) == expected
    if style == "canonical" and expected:
        assert loads_canonical(data) == json.loads(data)


@pytest.mark.parametrize("data", [b'{"a":NaN}', b'{"a":Infinity}', b'{"a":1.0}', b'{"a":1e3}',
                                  b'{"a":9007199254740992}', b'{"a":-0}', b'{"a":1,"a":1}',
                                  b'{"a":"\\u00e9"}', b'{"a":1} ', b'\xff'])
def test_what_the_one_pass_check_refuses(data):
    assert not is_canonical(data) and not _reference_is_canonical(data)


def test_proofs_made_from_streamed_leaves_equal_the_recursive_definition():
    """verify makes proofs of large logs from leaf ranges read once (memory flat in the log's
    length); they must be the proofs of RFC 9162 §2.1.3.1 and §2.1.4.1, for every size."""
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(40)]
    for n in range(1, len(leaves) + 1):
        for m in range(n):
            ranges = merkle.inclusion_ranges(m, n)
            assert merkle.range_roots(ranges, iter(leaves[:n])) == \
                merkle.inclusion_proof(m, leaves[:n])
        for m in range(1, n + 1):
            ranges = merkle.consistency_ranges(m, n)
            assert merkle.range_roots(ranges, iter(leaves[:n])) == \
                merkle.consistency_proof(m, leaves[:n])
    with pytest.raises(ValueError):
        merkle.range_roots(merkle.inclusion_ranges(0, 8), iter(leaves[:5]))


def test_a_kept_tree_gives_the_same_roots_and_proofs_as_the_definition():
    """merkle.Tree (what a record page proves its record with, extended as the log grows)
    against RFC 9162's recursive definition, at sizes around powers of two."""
    import random

    from generator.archive import merkle

    leaves = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(300)]
    tree = merkle.Tree()
    rng = random.Random(9162)
    for n, leaf in enumerate(leaves, start=1):
        tree.append(leaf)
        assert tree.size == n
        if n in (1, 2, 3, 7, 8, 9, 63, 64, 65, 127, 128, 129, 255, 256, 257, 300):
            assert tree.range_root(0, n) == merkle.root(leaves[:n])
            for i in {0, n - 1, *rng.sample(range(n), min(n, 8))}:
                proof = tree.inclusion_proof(i, n)
                assert proof == merkle.inclusion_proof(i, leaves[:n]), (i, n)
                assert merkle.verify_inclusion(i, n, leaves[i], proof, merkle.root(leaves[:n]))
    # a proof of an older, smaller tree from the same kept tree
    assert tree.inclusion_proof(5, 100) == merkle.inclusion_proof(5, leaves[:100])
    with pytest.raises(ValueError):
        tree.range_root(0, 301)
