"""The signed archive (issue in progress): canonical encodings and the Merkle log's proofs.

What exists so far are the pure pieces the archive stands on: :mod:`.canonical` (the bytes a
hash or a signature covers) and :mod:`.merkle` (RFC 9162 tree, inclusion and consistency
proofs and their verification).
"""
