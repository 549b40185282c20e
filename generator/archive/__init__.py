"""The signed archive of records: keys, signed events, the Merkle log, and its verification.

    canonical   the bytes a hash or a signature covers (RFC 8785 style)
    merkle      RFC 9162 tree, inclusion and consistency proofs, and their checks
    keys        per-person Ed25519 keys, encrypted with the owner's passphrase
    store       the log, blobs, signed checkpoint, lock and crash recovery on disk
    records     submit, sign, correct, void, import: checked before anything is written
    verify      真实性 / 完整性 / 可用性 / 安全性 over everything in the archive
"""
