"""The revision history (修订记录), generated: each build leaves a manifest, the next compares.

The manifest records, per flow, its code, name, revision, content hash and the text of every
step; the history carried inside it lists, per manual revision, what changed against the
previous published build: flows added, removed and changed (with the changed steps named).
Nothing here is hand-written, so the history cannot forget a change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model import Library

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Revision:
    revision: str
    date: str
    changes: tuple[str, ...]
    author: str = ""  # 修订人: who prepared this revision of the manual
    approver: str = ""  # 批准人
    effective: str = ""  # 生效日期


def manifest_of(library: Library) -> dict[str, Any]:
    flows = {}
    for flow in library.flows:
        flows[flow.code] = {
            "name": flow.name,
            "revision": flow.revision,
            "status": flow.effective_status,
            "hash": flow.content_hash,
            "steps": {s.id: s.text for s in flow.steps},
        }
    manual = library.manual

    def who(signature) -> str:
        return signature.by if signature is not None else ""

    return {"manual": {"revision": manual.revision if manual else "",
                       "date": manual.issue_date.isoformat() if manual else "",
                       "author": who(manual.signoff.prepared) if manual else "",
                       "approver": who(manual.signoff.approved) if manual else "",
                       "effective": manual.effective_date.isoformat() if manual else ""},
            "flows": flows}


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed from ``old`` to ``new``, one line each, in manual order of ``new``."""
    out: list[str] = []
    before, after = old.get("flows", {}), new.get("flows", {})
    for code, flow in after.items():
        if code not in before:
            out.append(f"新增 {code} {flow['name']}")
            continue
        was = before[code]
        if was["hash"] == flow["hash"] and was["revision"] == flow["revision"]:
            if was.get("status") != flow["status"]:
                out.append(f"{code} {flow['name']}：受控状态 {was.get('status')} → {flow['status']}")
            continue
        parts = []
        if was["revision"] != flow["revision"]:
            parts.append(f"版本 {was['revision']} → {flow['revision']}")
        if was["name"] != flow["name"]:
            parts.append(f"更名为 {flow['name']}")
        added = [t for k, t in flow["steps"].items() if k not in was["steps"]]
        removed = [t for k, t in was["steps"].items() if k not in flow["steps"]]
        edited = [f"{was['steps'][k]}→{t}" for k, t in flow["steps"].items()
                  if k in was["steps"] and was["steps"][k] != t]
        if added:
            parts.append("新增步骤 " + "、".join(added))
        if removed:
            parts.append("删除步骤 " + "、".join(removed))
        if edited:
            parts.append("修改步骤 " + "、".join(edited))
        if not (added or removed or edited) and was["hash"] != flow["hash"]:
            parts.append("修改流程内容（走向、字段或说明）")
        out.append(f"{code} {flow['name']}：" + "；".join(parts))
    for code, flow in before.items():
        if code not in after:
            out.append(f"删除 {code} {flow['name']}")
    return out


def next_history(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[Revision]:
    """The history to print: the previous build's, plus what this build changes."""
    manual = current["manual"]
    signed = (manual.get("author", ""), manual.get("approver", ""), manual.get("effective", ""))
    if previous is None:
        n = len(current["flows"])
        return [Revision(manual["revision"], manual["date"], (f"初版发布，收录 {n} 个流程图",),
                         *signed)]
    # a manifest written before 修订人/批准人/生效日期 were kept reads as blank there
    history = [Revision(h["revision"], h["date"], tuple(h["changes"]), h.get("author", ""),
                        h.get("approver", ""), h.get("effective", ""))
               for h in previous.get("history", [])]
    found = changes(previous, current)
    if found:
        if history and history[-1].revision == manual["revision"]:
            last = history.pop()  # the same manual revision built again: one entry for it
            found = [*last.changes, *(c for c in found if c not in last.changes)]
        history.append(Revision(manual["revision"], manual["date"], tuple(found), *signed))
    return history


def read_manifest(out: Path) -> dict[str, Any] | None:
    path = out / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a damaged manifest: start the history again rather than fail the build


def manifest_text(current: dict[str, Any], history: list[Revision]) -> str:
    data = {**current, "history": [{"revision": h.revision, "date": h.date,
                                    "changes": list(h.changes), "author": h.author,
                                    "approver": h.approver, "effective": h.effective}
                                   for h in history]}
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
