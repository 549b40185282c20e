"""An insider's tools: entries written and signed with the project's own primitives, past every
check the writer makes, with a checkpoint signed by the operator key (the strongest insider:
one who runs the command line and so knows the operator passphrase).

What such an insider can do is exactly what ``verify`` must catch from the log alone.
"""

from __future__ import annotations

from typing import Any

from conftest import secret

from generator.archive import events as R
from generator.archive.store import Archive, key_table
from generator.seal import keys
from generator.trust import TrustRoot


def any_key(archive: Archive, trust: TrustRoot, person: str) -> str:
    """``person``'s newest key in the log, vouched for or not, revoked or not."""
    table = key_table(archive.key_entries(), trust)
    return [kid for kid, k in table.items() if k["person"] == person][-1]


def append(archive: Archive, trust: TrustRoot, signer: str, entry: dict[str, Any]) -> int:
    """``entry`` signed with ``signer``'s key and committed as is; its sequence number."""
    kid = any_key(archive, trust, signer)
    private = keys.unlock(archive.private_key(kid), secret(signer))
    with archive.writing() as w:
        seq = w.next_seq
        w.append(R.signed(entry, private, kid, seq))
        w.commit()
    return seq


def state(archive: Archive, number: str) -> R.RecordState | None:
    return R.record_state(archive, number)


def event(archive: Archive, number: str, kind: str, **fields: Any) -> dict[str, Any]:
    """An event of ``kind`` on record ``number``, signed over its current state."""
    return {"type": kind, "record": number, "time": "2026-11-03T09:00:00+00:00",
            "state": R.state_digest(state(archive, number)), **fields}


def sign_event(archive: Archive, number: str, step: str, person: str, decision: str,
               status: str = "in progress", role: str = "部门负责人") -> dict[str, Any]:
    return event(archive, number, "sign", step=step, decision=decision, comment="",
                 person=person, role=role, meaning="审批", status=status)
