"""Put a flows folder under a new root of trust and sign its sign-offs, as its people would.

A real department does this by hand once: the 文控 runs ``flowdoc trust init``, each signer
makes a key (``flowdoc keys new``) that the 文控 vouches for (``flowdoc keys approve``), then
signs the flows and org.yaml (``flowdoc flow sign`` / ``flowdoc org sign``). The bundled
sample's people are fictional, so ``tools/sign_bundled.py`` does all of it here with
throwaway passphrases (the private halves die with a temporary archive, so nobody can sign as
the demo people again), and the tests do it with known ones in a temporary copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..archive.events import approve_key, new_person_key
from ..archive.store import Archive
from ..archive.trusting import init_trust, unlock_operator
from ..checks import check_paths
from ..lifecycle import sign_file, sign_org_file, unlock_signer
from ..loader import load_flow, load_org
from ..seal.signoff import KEYS_FILE
from ..trust import TRUST_FILE

REGISTRAR = "王芳"  # the 文控专员: she vouches for keys and keeps the manual


def sign_folder(flows_dir: Path, archive_root: Path, secret: Callable[[str], str],
                operator_secret: str, registrar: str = REGISTRAR) -> Archive:
    """A new trust root for ``flows_dir`` (its registrar ``registrar``), a key for every
    person who signs a sign-off there, vouched for, and every sign-off entry still bound to
    its content (or not yet bound to any) signed again; keys.yaml is written anew. The
    archive (with the operator key unlocked) is returned."""
    for name in (TRUST_FILE, KEYS_FILE):
        (flows_dir / name).unlink(missing_ok=True)
    library = check_paths([flows_dir], base=flows_dir.parent).library
    assert library.org is not None
    init_trust(flows_dir / TRUST_FILE, Archive(archive_root), library, registrar,
               secret(registrar), operator_secret)
    library = check_paths([flows_dir], base=flows_dir.parent).library
    archive = Archive(archive_root, unlock_operator(archive_root, operator_secret))
    signers = {}

    def signer(person: str):
        if person not in signers:
            if person != registrar:
                new_person_key(archive, library, person, secret(person))
                approve_key(archive, library, person, registrar, secret(registrar))
            signers[person] = unlock_signer(archive_root, person, secret(person), library.trust)
        return signers[person]

    for _, meaning, entry in library.org.signoff.entries():
        if entry is not None and entry.hash in (None, library.org.content_hash):
            org = load_org(flows_dir)  # as the last signature left it
            assert org is not None
            sign_org_file(org, entry.by, meaning, signer(entry.by), entry.on)
    library = check_paths([flows_dir], base=flows_dir.parent).library
    for flow in library.flows:
        path = Path(flow.origin.source)
        current = load_flow(path)
        for _, meaning, entry in flow.signoff.entries():
            if entry is None or entry.given_to_other(current.content_hash):
                continue
            # signing changes the sign-off block only: the file's content hash stays, and the
            # sign-off written (and read back by sign_file) is the one the next entry builds on
            written = sign_file(path, current, library.org, entry.by, meaning, signer(entry.by),
                                entry.on)
            current = replace(current, signoff=written)
    return archive
