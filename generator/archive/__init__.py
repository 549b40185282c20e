"""The signed archive of records: keys, signed events, the Merkle log, and its verification.

    merkle      RFC 9162 tree, inclusion and consistency proofs, and their checks
    store       the folder store: log, blobs, signed checkpoint, lock and crash recovery
    logindex    the store's derived index (what writers need of the past), never trusted
    state       a record's state: the one fold of its events, its digest, its rendition
    rulebook    whether an event may follow: the writer applies it, verify replays it
    events      keys, submit, sign, correct, void, import: checked before anything is written
    trusting    the trust root's operations: init, add, remove, the operator key, witnesses
    verify      真实性 / 完整性 / 可用性 / 安全性 over everything in the archive

The bytes every signature covers and the keys that make them are ``generator.seal``, below
the loader and the archive alike.
"""
