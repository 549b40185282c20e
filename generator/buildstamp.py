"""Whether a build has anything to do: one hash over everything a build reads.

Kept apart from the writers (and their heavy imports) so that ``flowdoc build`` with nothing
changed answers in a fraction of a second.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

STAMP = ".flowdoc-build"


def options_text(copy_number: int | None, holder: str | None, manual: bool = True) -> str:
    return f"copy={copy_number};holder={holder};manual={manual}"


def inputs_digest(paths: list[Path], options: str) -> str:
    """One hash over every input file (by name and content), the generator's code and options."""
    h = hashlib.sha256(options.encode())
    package = Path(__file__).resolve().parent
    files = [p for root in paths if root.exists() for p in sorted(root.rglob("*")) if p.is_file()]
    files += sorted(p for p in package.rglob("*.py"))
    for p in files:
        h.update(str(p.name).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def up_to_date(out: Path, digest: str) -> bool:
    stamp = out / STAMP
    return stamp.exists() and stamp.read_text() == digest
