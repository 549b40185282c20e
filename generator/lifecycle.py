"""Document control of flows: sign-offs bound to content, written back into the flow file.

A signature in the 编制/审核/批准 block records the sha256 of the flow's content (everything but
its status and sign-off) as the signer saw it, the way Doorstop binds review stamps to item
hashes. Change a step after approval and the hashes no longer match: ``flowdoc check`` warns,
and every published copy prints the flow as 草稿 until it is signed again.

The flow file is edited only in its ``signoff:`` block, so its comments and layout stay as the
document controller wrote them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

from .checks import check_signoff
from .errors import FlowdocError
from .fileio import write_atomic
from .loader import load_flow
from .model import Flow, Org, Signature, Signoff

MEANINGS = {"编制": "prepared", "审核": "reviewed", "批准": "approved"}


class SignError(FlowdocError):
    """The sign-off is refused; nothing was written."""


def signed(flow: Flow, org: Org, person: str, meaning: str, on: dt.date) -> Signoff:
    """The flow's sign-off with ``person``'s signature for ``meaning`` added (pure).

    Raises :class:`SignError` if the result would break a sign-off rule: an unknown person,
    dates out of order, the preparer approving, or a 受控 sign-off by fewer than three people.
    """
    if meaning not in MEANINGS:
        raise SignError(f"meaning must be one of {'/'.join(MEANINGS)}, not '{meaning}'")
    if org.person(person) is None:
        raise SignError(f"'{person}' is not a person in org.yaml")
    # A signature given to other content stays on record (stale, and reported as such) until
    # its signer signs this content; dates are compared only between signatures of one content.
    result = replace(flow.signoff, **{MEANINGS[meaning]: Signature(person, on, flow.content_hash)})
    problems = check_signoff(result, org, flow.origin, flow.status if result.complete else "",
                             "flow")
    if problems:
        raise SignError(problems[0].message)
    return result


def render_signoff(signoff: Signoff) -> str:
    lines = ["signoff:"]
    for key, _, entry in signoff.entries():
        if entry is not None:
            digest = f", hash: {entry.hash}" if entry.hash else ""
            lines.append(f"  {key}: {{by: {entry.by}, on: {entry.on.isoformat()}{digest}}}")
    return "\n".join(lines) + "\n"


_TOP_KEY = re.compile(r"^[^\s#]")


def replace_signoff_block(text: str, block: str) -> str:
    """``text`` with its top-level ``signoff:`` block replaced by ``block`` (or appended)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith("signoff:")), None)
    if start is None:
        return text.rstrip("\n") + "\n\n" + block
    end = start + 1
    while end < len(lines) and not _TOP_KEY.match(lines[end]):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # keep the blank lines that separate it from what follows
    return "".join(lines[:start]) + block + "".join(lines[end:])


def sign_file(path: Path, flow: Flow, org: Org, person: str, meaning: str,
              on: dt.date | None = None) -> Signoff:
    """Sign ``flow`` (read from ``path``) and write the new sign-off into the file atomically."""
    signoff = signed(flow, org, person, meaning, on or dt.date.today())
    original = path.read_text(encoding="utf-8")
    updated = replace_signoff_block(original, render_signoff(signoff))
    write_atomic(path, updated)
    try:
        check = load_flow(path)
    except FlowdocError:
        write_atomic(path, original)
        raise SignError(f"{path}: the signed file would not load; nothing was changed") from None
    if check.signoff != signoff or check.content_hash != flow.content_hash:
        write_atomic(path, original)
        raise SignError(f"{path}: the sign-off could not be written back; nothing was changed")
    return signoff
