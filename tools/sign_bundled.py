"""Put the bundled flows under a new root of trust and sign their sign-offs with demo keys.

The people of org.yaml are fictional, so the bundled 编制/审核/批准 entries of the flows and of
org.yaml (whose names and dates are the sample's) are signed with keys made for them in a
throwaway archive, vouched for by a demo registrar (王芳, the 文控) whose trust root is written
to flows/trust.yaml; the public halves go into flows/keys.yaml, and the private halves are
deleted with the archive, so nobody can sign as these demo people again. A real department
runs the same steps by hand (generator/service/bootstrap.py says which).

    python tools/sign_bundled.py [FLOWS_DIR]     # default: flows/

Only entries still bound to their content are signed; stale ones are left for a person.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.service.bootstrap import sign_folder  # noqa: E402


def main() -> None:
    flows_dir = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT / "flows"
    secret = secrets.token_urlsafe(24)  # never printed: the keys die with the archive
    with tempfile.TemporaryDirectory() as tmp:
        sign_folder(flows_dir, Path(tmp) / "records", lambda _person: secret, secret)
    print(f"signed {flows_dir}")


if __name__ == "__main__":
    main()
