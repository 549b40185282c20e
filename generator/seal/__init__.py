"""The seal: what every signature and hash in flowdoc is made of, below everything that uses it.

    canonical   the bytes a hash or a signature covers (RFC 8785 style canonical JSON)
    keys        Ed25519 keys: made, encrypted with a passphrase, unlocked, signing, checking
    signoff     what a 编制/审核/批准 signature of a flow or org.yaml covers, and its check

The loader verifies flow sign-offs with it and the archive signs events with it, so it sits
under both and imports neither.
"""
