"""Sign the bundled flows' sign-offs with demo keys, as ``flowdoc flow sign`` would.

The people of org.yaml are fictional, so the bundled 编制/审核/批准 entries (whose names and
dates are the sample's) are signed with keys made for them in a throwaway archive: the public
halves go into flows/keys.yaml, and the private halves are deleted with the archive, so nobody
can sign as these demo people again. To sign a flow yourself, make your own key with
``flowdoc keys new PERSON`` and ``flowdoc flow sign``; keys.yaml then holds your key beside the
demo one (old signatures stay verifiable under the key that made them).

    python tools/sign_bundled.py [FLOWS_DIR]     # default: flows/

(tests/broken/_valid.yaml.txt was signed the same way, in a folder with tests/broken/org.yaml.)

Only entries still bound to the flow's content are signed; stale ones are left for a person.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.archive.records import new_person_key  # noqa: E402
from generator.archive.store import Archive  # noqa: E402
from generator.check import check_paths  # noqa: E402
from generator.lifecycle import sign_file, unlock_signer  # noqa: E402
from generator.loader import load_flow  # noqa: E402


def main() -> None:
    flows_dir = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT / "flows"
    library = check_paths([flows_dir], base=flows_dir.parent).library
    assert library.org is not None
    secret = secrets.token_urlsafe(24)  # never printed: the keys die with the archive
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive(Path(tmp) / "records")
        signers = {}
        for flow in library.flows:
            path = Path(flow.origin.file)
            path = path if path.is_absolute() else flows_dir.parent / path
            for _, meaning, entry in flow.signoff.entries():
                current = load_flow(path)
                if entry is None or entry.hash != current.content_hash:
                    continue
                if entry.by not in signers:
                    new_person_key(archive, library, entry.by, secret)
                    signers[entry.by] = unlock_signer(archive.root, entry.by, secret)
                sign_file(path, current, library.org, entry.by, meaning, signers[entry.by],
                          entry.on)
            print(flow.code)


if __name__ == "__main__":
    main()
