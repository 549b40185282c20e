"""Records given as YAML or JSON (scripted and bulk entry): the shape of design.md.

    flow: EC-HR-015
    fields: {leave_type: 病假, start: 2026-11-02, end: 2026-11-11, reason: 感冒发烧}

Optional: ``applicant`` (a person in org.yaml), ``revision`` and ``flow_hash`` (the flow the
record was made for), ``decisions`` (``{step_id: 同意}`` or lists, for decisions taken).
The YAML goes through flowdoc's safe reader: size limit, no aliases, located errors.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import FlowdocError
from ..yamlsource import MAX_BYTES, YamlProblem, parse_yaml
from .rules import RecordInput

KEYS = {"flow", "fields", "applicant", "revision", "flow_hash", "decisions"}


class RecordInputError(FlowdocError):
    """The record file cannot be read; the message names the file and what is wrong."""

    code = "invalid"


def read_record(path: Path, flows: dict | None = None) -> RecordInput:
    """A record from a YAML or JSON file (a filled PDF form: forms.read_filled_record; the
    service layer's ``records.read`` takes either)."""
    name = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RecordInputError(f"{name}: cannot read: {exc.strerror}") from None
    if path.suffix.lower() == ".pdf":  # a filled form: forms.read_filled_record reads it
        raise RecordInputError(f"{name}: a filled form (PDF) is read by the forms package "
                               "(generator.forms.read_filled_record)")
    if size > MAX_BYTES:
        raise RecordInputError(f"{name}: {size / 2**20:.1f} MiB; a record may be at most 1 MiB")
    raw = path.read_bytes()
    if path.suffix.lower() == ".json":
        try:
            # numbers with a point or exponent as the Decimal written (never a float), and a
            # key given twice refused: json keeps the last silently, a person reads the first
            data = json.loads(raw.decode("utf-8"), parse_float=Decimal,
                              object_pairs_hook=_no_duplicates)
        except UnicodeDecodeError:
            raise RecordInputError(f"{name}: not UTF-8") from None
        except json.JSONDecodeError as exc:
            raise RecordInputError(f"{name}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        except _DuplicateKey as exc:
            raise RecordInputError(f"{name}: duplicate key '{exc.key}'") from None
        except RecursionError:
            raise RecordInputError(f"{name}: nested too deeply to be a record") from None
    else:
        try:
            data = parse_yaml(raw, name, exact_numbers=True).data
        except YamlProblem as exc:
            raise RecordInputError(str(exc.problem)) from None
    return record_from_data(data, name)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def record_from_data(data: Any, name: str) -> RecordInput:
    if not isinstance(data, dict):
        raise RecordInputError(f"{name}: a record is a mapping with flow: and fields:")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise RecordInputError(f"{name}: unknown key '{unknown[0]}' (a record has "
                               f"{', '.join(sorted(KEYS))})")
    if not isinstance(data.get("flow"), str):
        raise RecordInputError(f"{name}: flow: must name the flow code, e.g. flow: EC-HR-015")
    fields = data.get("fields") or {}
    if not isinstance(fields, dict):
        raise RecordInputError(f"{name}: fields: must map field ids to values")
    decisions = data.get("decisions") or {}
    if not isinstance(decisions, dict):
        raise RecordInputError(f"{name}: decisions: must map step ids to decisions")
    decisions = {k: v if isinstance(v, list) else [v] for k, v in decisions.items()}
    for key in ("applicant", "revision", "flow_hash"):
        if key in data and not isinstance(data[key], str):
            raise RecordInputError(f"{name}: {key}: must be text")
    return RecordInput(data["flow"], fields, name, data.get("revision"), data.get("flow_hash"),
                       data.get("applicant"), decisions)
