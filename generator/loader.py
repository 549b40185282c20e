"""YAML files → model, with every problem located and reported at once.

The loader checks the *shape* of each file (keys, types, allowed values, expressions that
parse); :mod:`generator.checks` then checks the rules that span steps, files and people. A file
whose shape is wrong is left out of the library, so that one typo does not cascade into a dozen
graph errors about the same step.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from . import expr
from .errors import Problem
from .model import (
    COLUMN_TYPES,
    DEFAULT_APPROVAL_DECISIONS,
    FIELD_TYPES,
    PROVENANCES,
    STATUSES,
    STEP_KINDS,
    Authority,
    Column,
    Department,
    Distribution,
    Document,
    Exit,
    Field,
    Flow,
    Lane,
    Library,
    Manual,
    Org,
    Origin,
    Person,
    PublicKey,
    Ref,
    Role,
    Signature,
    Signoff,
    Step,
)
from .seal.signoff import KEYS_FILE, key_id, verify_flow, verify_org
from .trust import TRUST_FILE, load_trust
from .yamlsource import Located, Path_, YamlProblem, file_bytes, parse_yaml

ORG_FILE = "org.yaml"
MANUAL_FILE = "manual.yaml"
CODE_RE = re.compile(r"^EC-(HR|OP|WH|FN|CS|MK)-\d{3}(-\d)?$")
ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

_FLOW_KEYS = {
    "code", "name", "status", "revision", "owner_department", "control_department",
    "provenance", "lanes", "fields", "steps",
}
_FLOW_OPTIONAL = {"notes", "signoff", "separate", "retention"}
_STEP_KEYS = {"id", "lane", "kind", "text"}
_STEP_OPTIONAL = {"next", "exits", "decisions", "ref", "source_text", "sign", "at_least", "cc",
                  "role", "max_visits", "document"}
_FIELD_OPTIONAL = {
    "required", "multiline", "max_length", "options", "multiple", "min", "max", "integer",
    "unit", "derive", "columns", "rows", "help", "personal",
}
_FIELD_KEYS_BY_TYPE = {
    "text": {"required", "multiline", "max_length", "derive", "help", "personal"},
    "number": {"required", "min", "max", "integer", "unit", "derive", "help", "personal"},
    "date": {"required", "derive", "help", "personal"},
    "choice": {"required", "options", "multiple", "derive", "help", "personal"},
    "bool": {"required", "derive", "help", "personal"},
    "table": {"required", "columns", "rows", "help", "personal"},
}


@dataclass(frozen=True)
class LoadResult:
    library: Library
    problems: list[Problem]


def canonical_json(data: Any) -> str:
    """Sorted keys, no spaces, dates as ISO text: the same content always gives the same text."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_iso)


def _iso(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def content_hash(data: dict[str, Any]) -> str:
    """Hash of what a flow (or org.yaml) *says*; its sign-off and status are about it, so they
    stay out."""
    content = {k: v for k, v in data.items() if k not in ("signoff", "status")}
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def flow_files(paths: Iterable[Path]) -> tuple[list[Path], Path | None]:
    """The flow files named by ``paths`` (files or folders) and the folder org.yaml lives in."""
    files: list[Path] = []
    home: Path | None = None
    for path in paths:
        if path.is_dir():
            home = home or path
            files.extend(
                p for p in sorted(path.glob("*.yaml"))
                if p.name not in (ORG_FILE, MANUAL_FILE, KEYS_FILE, TRUST_FILE)
            )
        else:
            home = home or path.parent
            if path.name not in (ORG_FILE, MANUAL_FILE, KEYS_FILE, TRUST_FILE):
                files.append(path)
    return files, home


def load_library(paths: Iterable[Path], base: Path | None = None) -> LoadResult:
    """Load every flow under ``paths`` plus org.yaml and manual.yaml beside them."""
    paths = list(paths)
    files, home = flow_files(paths)
    problems: list[Problem] = []
    org = manual = None
    if home is not None and (home / ORG_FILE).exists():
        org = _load_one(home / ORG_FILE, base, _build_org, problems)
    if home is not None and (home / MANUAL_FILE).exists():
        manual = _load_one(home / MANUAL_FILE, base, _build_manual, problems)
    trust = load_trust(home / TRUST_FILE) if home is not None else load_trust(Path(TRUST_FILE))
    if home is not None and (home / TRUST_FILE).exists():
        problems += [Problem(_display(home / TRUST_FILE, base), 0, "statements", message)
                     for message in trust.problems]
    keys = load_keys(home, base, problems, org, trust)
    flows = [f for f in (_load_one(p, base, _build_flow, problems) for p in files) if f]
    flows.sort(key=lambda f: (_order(f.code), f.origin.file))
    table = {k.id: k for k in keys}
    flows = [verify_flow(f, table) for f in flows]
    if org is not None:
        org = verify_org(org, table)
        flows = [_name_step_roles(f, org) for f in flows]
    return LoadResult(Library(manual, org, tuple(flows), keys, trust), problems)


def load_org(home: Path) -> Org | None:
    """org.yaml of the folder ``home`` with its sign-off verified against the keys the folder's
    trust root vouches for, as :func:`load_library` gives it, without reading the flows (a
    signature written into org.yaml is read back with this: the flows have not changed). None
    if it has a problem."""
    problems: list[Problem] = []
    org = _load_one(home / ORG_FILE, None, _build_org, problems)
    if org is None or problems:
        return None
    trust = load_trust(home / TRUST_FILE)
    keys = load_keys(home, None, problems, org, trust)
    return verify_org(org, {k.id: k for k in keys})


def _name_step_roles(flow: Flow, org: Org) -> Flow:
    """The flow with each step role's name from org.yaml (what the chart and the form show)."""
    if not any(s.role for s in flow.steps):
        return flow
    steps = tuple(replace(s, role_name=role.name) if s.role and (role := org.role(s.role))
                  else s for s in flow.steps)
    return replace(flow, steps=steps)


def load_keys(home: Path | None, base: Path | None, problems: list[Problem],
              org: Org | None = None, trust: Any = None) -> tuple[PublicKey, ...]:
    """The keys of flows/keys.yaml that a registrar of trust.yaml vouched for (none if there
    is no file: every signature then counts as unsigned). A key nobody vouched for is reported
    as a warning and left out, so whatever it signed counts as unsigned."""
    if home is None or not (home / KEYS_FILE).exists():
        return ()
    if trust is None:
        trust = load_trust(home / TRUST_FILE)
    keys = _load_one(home / KEYS_FILE, base, partial(_build_keys, org=org), problems,
                     remembered=False) or ()
    vouched = []
    for k in keys:
        vouch = dict(k.vouch) or None
        why = trust.why_not_vouched(k.person, k.id, k.public.hex(), vouch)
        if why:
            where = _display(home / KEYS_FILE, base)
            problems.append(Problem(where, _key_line(home / KEYS_FILE, k.id), f"keys.{k.id}",
                                    f"{why}: signatures with it do not count", "warning"))
        else:
            vouched.append(k)
    return tuple(vouched)


def read_keys_file(home: Path, problems: list[Problem]) -> tuple[PublicKey, ...]:
    """Every key keys.yaml lists, vouched for or not (for rewriting the file)."""
    if not (home / KEYS_FILE).exists():
        return ()
    return _load_one(home / KEYS_FILE, None, partial(_build_keys, org=None), problems,
                     remembered=False) or ()


def _key_line(path: Path, kid: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if kid in line:
            return n
    return 0


def load_flow(path: Path) -> Flow:
    """Load one flow file alone (no cross-file rules); raise on any problem."""
    from .errors import ProblemsError

    problems: list[Problem] = []
    flow = _load_one(path, None, _build_flow, problems)
    keys = load_keys(path.parent, None, problems)
    problems = [p for p in problems if p.severity == "error"]
    if problems or flow is None:
        raise ProblemsError(problems)
    return verify_flow(flow, {k.id: k for k in keys})


def flow_from_bytes(raw: bytes, name: str) -> Flow:
    """A flow from the bytes of its file (the archive keeps each record's flow this way)."""
    return _from_bytes(raw, name, _build_flow)


def org_from_bytes(raw: bytes, name: str) -> Org:
    """org.yaml from its bytes (the archive keeps the org in force for each event this way)."""
    return _from_bytes(raw, name, _build_org)


def _from_bytes(raw: bytes, name: str, build: Any) -> Any:
    from .errors import ProblemsError

    result, problems = _built(build, raw, name)
    if problems or result is None:
        raise ProblemsError(list(problems))
    return result


def _order(code: str) -> tuple[int, str]:
    match = re.search(r"-(\d{3})", code)
    return (int(match.group(1)) if match else 999, code)


def _display(path: Path, base: Path | None) -> str:
    try:
        return str(path.resolve().relative_to((base or Path.cwd()).resolve()))
    except ValueError:
        return str(path)


def _load_one(path: Path, base: Path | None, build: Any, problems: list[Problem],
              remembered: bool = True) -> Any:
    display = _display(path, base)
    try:
        raw = file_bytes(path, display)
    except YamlProblem as exc:
        problems.append(exc.problem)
        return None
    made = _built if remembered else _built.__wrapped__
    result, found = made(build, raw, display)
    problems.extend(found)
    return None if found else _read_from(result, str(path.resolve()))


@lru_cache(maxsize=256)
def _built(build: Any, raw: bytes, name: str) -> tuple[Any, tuple[Problem, ...]]:
    """What ``build`` makes of a file's bytes, and the problems found in them (the thing is
    None if there are any). A process that lives reads the same bytes again and again: the
    web app its flows after every change to one of them, verify the flow archived with every
    record of it, a test each copy of the flows. The model is frozen, so what was made once
    from the same bytes, under the same name, is given again (:func:`_read_from` says from
    which file): only ``build`` functions of the file alone are remembered (keys.yaml is read
    against org.yaml, and is not)."""
    try:
        located = parse_yaml(raw, name)
    except YamlProblem as exc:
        return None, (exc.problem,)
    reader = _Reader(located)
    try:
        result = build(reader)
    except RecursionError:  # pragma: no cover - the YAML reader bounds depth long before this
        reader.problem((), "nested too deeply")
        result = None
    return (None if reader.problems else result), tuple(reader.problems)


def _read_from(thing: Any, source: str) -> Any:
    """``thing`` as read from the file at ``source``: a flow, org.yaml or manual.yaml keeps
    the absolute path of its file (the archive reads its bytes again from there)."""
    origin = getattr(thing, "origin", None)
    if origin is None or origin.path == source:
        return thing
    return replace(thing, origin=replace(origin, path=source))


class _Reader:
    """Typed access to located data that records a problem instead of raising."""

    def __init__(self, located: Located) -> None:
        self.located = located
        self.problems: list[Problem] = []
        self.missing: set[Path_] = set()  # reported as missing once; not again as a bad value

    # -- reporting -------------------------------------------------------------------------
    def problem(self, path: Path_, message: str) -> None:
        self.problems.append(
            Problem(self.located.file, self.located.line(path), self.where(path), message)
        )

    def where(self, path: Path_) -> str:
        """``steps[3] 'gm_approve'`` for an item of a list of things with ids."""
        out: list[str] = []
        data: Any = self.located.data
        for part in path:
            if isinstance(part, int):
                out.append(f"[{part}]")
                data = data[part] if isinstance(data, list) and part < len(data) else None
                ident = data.get("id") if isinstance(data, dict) else None
                if isinstance(ident, str):
                    out.append(f" '{ident}'")
            else:
                out.append(f".{part}" if out else str(part))
                data = data.get(part) if isinstance(data, dict) else None
        return "".join(out)

    # -- shapes ----------------------------------------------------------------------------
    def mapping(self, path: Path_, value: Any, required: set[str], optional: set[str]) -> dict | None:
        if not isinstance(value, dict):
            what = self.where(path) if path else "the file"
            self.problem(path, f"{what} must be a mapping of keys, not {_kind(value)}")
            return None
        allowed = required | optional
        meant: set[str] = set()
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed - value.keys()), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                meant.update(close)
                self.problem((*path, key), f"unknown key '{key}'{hint}")
        for key in sorted(required - value.keys()):
            if key not in meant:  # a typo of a required key is reported once, as the typo
                self.problem(path, f"missing required key '{key}'")
            self.missing.add((*path, key))
        return value

    def items(self, path: Path_, value: Any, *, empty_ok: bool = False) -> list:
        if path in self.missing:
            return []
        if value is None and empty_ok:
            return []
        if not isinstance(value, list):
            self.problem(path, f"{path[-1]} must be a list, not {_kind(value)}")
            return []
        if not value and not empty_ok:
            self.problem(path, f"{path[-1]} must not be empty")
        return value

    def text(self, path: Path_, value: Any, *, optional: bool = False) -> str | None:
        if path in self.missing:
            return None
        if value is None and optional:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # `revision: 1` or a numeric label is still text
        if not isinstance(value, str) or not value.strip():
            self.problem(path, f"{path[-1]} must be non-empty text, not {_kind(value)}")
            return None
        return value.strip()

    def ident(self, path: Path_, value: Any) -> str | None:
        text = self.text(path, value)
        if text is not None and not ID_RE.match(text):
            self.problem(path, f"{path[-1]} '{text}' must be lower-case ASCII: [a-z][a-z0-9_]*")
            return None
        return text

    def one_of(self, path: Path_, value: Any, choices: tuple[str, ...]) -> str | None:
        text = self.text(path, value)
        if text is not None and text not in choices:
            self.problem(path, f"{path[-1]} must be one of {', '.join(choices)}; got '{text}'")
            return None
        return text

    def flag(self, path: Path_, value: Any, default: bool = False) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(path, f"{path[-1]} must be true or false, not {_kind(value)}")
            return default
        return value

    def number(self, path: Path_, value: Any, *, integer: bool = False) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or (
            integer and not isinstance(value, int)
        ):
            self.problem(path, f"{path[-1]} must be {'a whole number' if integer else 'a number'}, "
                               f"not {_kind(value)}")
            return None
        return value

    def date(self, path: Path_, value: Any) -> dt.date | None:
        if path in self.missing:
            return None
        if isinstance(value, dt.date):
            return value
        self.problem(path, f"{path[-1]} must be a date (YYYY-MM-DD), not {_kind(value)}")
        return None

    def expression(self, path: Path_, value: Any) -> expr.Expr | None:
        source = self.text(path, value)
        if source is None:
            return None
        try:
            return expr.parse(source)
        except expr.ExprError as exc:
            self.problem(path, f"{path[-1]}: {exc}")
            return None

    def strings(self, path: Path_, value: Any) -> tuple[str, ...]:
        result = []
        for i, item in enumerate(self.items(path, value)):
            text = self.text((*path, i), item)
            if text is not None:
                result.append(text)
        return tuple(result)

    def hex(self, path: Path_, value: Any, digits: int, what: str) -> str | None:
        text = self.text(path, value, optional=True)
        if text is not None and not re.fullmatch(f"[0-9a-f]{{{digits}}}", text):
            self.problem(path, f"{path[-1]} must be the {digits} hex digits of {what} (written "
                         "by flowdoc flow sign)")
            return None
        return text

    def signoff(self, path: Path_, value: Any) -> Signoff:
        if value is None:
            return Signoff()
        data = self.mapping(path, value, set(), {"prepared", "reviewed", "approved"})
        if data is None:
            return Signoff()
        entries: dict[str, Signature | None] = {}
        for key in ("prepared", "reviewed", "approved"):
            entry = data.get(key)
            if entry is None:
                entries[key] = None
                continue
            sub = (*path, key)
            fields = self.mapping(sub, entry, {"by", "on"}, {"hash", "key", "sig"})
            if fields is None:
                entries[key] = None
                continue
            by = self.text((*sub, "by"), fields.get("by"))
            on = self.date((*sub, "on"), fields.get("on")) if "on" in fields else None
            digest = self.hex((*sub, "hash"), fields.get("hash"), 64, "a sha256 content hash")
            kid = self.hex((*sub, "key"), fields.get("key"), 32, "a key id of keys.yaml")
            sig = self.hex((*sub, "sig"), fields.get("sig"), 128, "an Ed25519 signature")
            entries[key] = Signature(by, on, digest, kid, sig) if by and on else None
        return Signoff(**entries)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "true/false", int: "a number", float: "a number", str: f"'{str(value)[:40]}'",
        list: "a list", dict: "a mapping", dt.date: "a date",
    }.get(type(value), type(value).__name__)


# -- builders ------------------------------------------------------------------------------


def _build_flow(r: _Reader) -> Flow | None:
    data = r.mapping((), r.located.data, _FLOW_KEYS, _FLOW_OPTIONAL)
    if data is None:
        return None
    code = r.text(("code",), data.get("code"))
    if code and not CODE_RE.match(code):
        r.problem(("code",), f"code '{code}' does not follow EC-<HR|OP|WH|FN|CS|MK>-NNN[-n]")
    lanes = tuple(
        lane for i, item in enumerate(r.items(("lanes",), data.get("lanes")))
        if (lane := _build_lane(r, ("lanes", i), item))
    )
    fields = tuple(
        f for i, item in enumerate(r.items(("fields",), data.get("fields"), empty_ok=True))
        if (f := _build_field(r, ("fields", i), item))
    )
    steps = tuple(
        s for i, item in enumerate(r.items(("steps",), data.get("steps")))
        if (s := _build_step(r, ("steps", i), item))
    )
    notes = r.text(("notes",), data.get("notes"), optional=True)
    separate = _separate(r, data["separate"], steps) if "separate" in data else ()
    flow = Flow(
        code=code or "",
        name=r.text(("name",), data.get("name")) or "",
        status=r.one_of(("status",), data.get("status"), STATUSES) or "",
        revision=r.text(("revision",), data.get("revision")) or "",
        owner_department=r.text(("owner_department",), data.get("owner_department")) or "",
        control_department=r.text(("control_department",), data.get("control_department")) or "",
        provenance=r.one_of(("provenance",), data.get("provenance"), PROVENANCES) or "",
        lanes=lanes,
        fields=fields,
        steps=steps,
        notes=notes,
        signoff=r.signoff(("signoff",), data.get("signoff")),
        content_hash=content_hash(data),
        origin=Origin(r.located.file, r.located.lines),
        separate=separate,
        retention=r.text(("retention",), data.get("retention"), optional=True),
    )
    return flow


def _separate(r: _Reader, value: Any, steps: tuple[Step, ...]) -> tuple[tuple[str, str], ...]:
    """``separate: [[pay_request, ec_review], …]``: pairs of signed steps one person may not
    both sign in one record (segregation of duties)."""
    by_id = {s.id: s for s in steps}
    out: list[tuple[str, str]] = []
    for i, pair in enumerate(r.items(("separate",), value)):
        path: Path_ = ("separate", i)
        if not isinstance(pair, list) or len(pair) != 2:
            r.problem(path, "each entry of separate is a pair of step ids: [request, approve]")
            continue
        ids = [r.ident((*path, j), item) for j, item in enumerate(pair)]
        if None in ids:
            continue
        a, b = ids
        bad = False
        for j, sid in enumerate(ids):
            step = by_id.get(sid)
            if step is None:
                r.problem((*path, j), f"'{sid}' is not a step of this flow")
                bad = True
            elif not step.signed:
                r.problem((*path, j), f"'{sid}' is {'an' if step.kind[0] in 'aeiou' else 'a'} "
                          f"{'automatic decision' if step.automatic else step.kind} step, which "
                          "nobody signs; separate pairs signed steps")
                bad = True
        if bad:
            continue
        if a == b:
            r.problem(path, f"separate pairs two different steps, not '{a}' with itself")
        elif (a, b) in out or (b, a) in out:
            r.problem(path, f"the pair [{a}, {b}] is listed twice")
        else:
            out.append((a, b))
    return tuple(out)


def _build_lane(r: _Reader, path: Path_, item: Any) -> Lane | None:
    data = r.mapping(path, item, {"id", "name"}, {"role", "approver"})
    if data is None:
        return None
    lane_id = r.ident((*path, "id"), data.get("id"))
    name = r.text((*path, "name"), data.get("name"))
    role = r.ident((*path, "role"), data["role"]) if "role" in data else lane_id
    approver, level = _approver(r, (*path, "approver"), data.get("approver", "role"))
    if lane_id and name and role and approver:
        return Lane(lane_id, name, role, approver, level)
    return None


def _approver(r: _Reader, path: Path_, value: Any) -> tuple[str | None, int]:
    """``approver: role | head | director | chosen`` or ``approver: {level: N}``."""
    if isinstance(value, dict):
        data = r.mapping(path, value, {"level"}, set())
        n = r.number((*path, "level"), data.get("level"), integer=True) if data else None
        if n is None or not 1 <= n <= 20:
            r.problem((*path, "level"), "level is the N-th manager up from the applicant: 1 to 20")
            return None, 0
        return "level", int(n)
    return r.one_of(path, value, ("role", "head", "director", "chosen")), 0


def _build_field(r: _Reader, path: Path_, item: Any) -> Field | None:
    data = r.mapping(path, item, {"id", "label", "type"}, _FIELD_OPTIONAL)
    if data is None:
        return None
    field_id = r.ident((*path, "id"), data.get("id"))
    label = r.text((*path, "label"), data.get("label"))
    ftype = r.one_of((*path, "type"), data.get("type"), FIELD_TYPES)
    if ftype:
        for key in sorted(set(data) & _FIELD_OPTIONAL - _FIELD_KEYS_BY_TYPE[ftype]):
            r.problem((*path, key), f"{key} does not apply to a {ftype} field")
    options = r.strings((*path, "options"), data["options"]) if "options" in data else ()
    if ftype == "choice" and len(set(options)) < 2:
        r.problem((*path, "options"), "a choice field needs at least two different options")
    columns: tuple[Column, ...] = ()
    rows = 0
    if ftype == "table":
        cols = []
        for i, col in enumerate(r.items((*path, "columns"), data.get("columns"))):
            cpath = (*path, "columns", i)
            cdata = r.mapping(cpath, col, {"id", "label", "type"}, {"unit"})
            if cdata is None:
                continue
            cid = r.ident((*cpath, "id"), cdata.get("id"))
            clabel = r.text((*cpath, "label"), cdata.get("label"))
            ctype = r.one_of((*cpath, "type"), cdata.get("type"), COLUMN_TYPES)
            unit = r.text((*cpath, "unit"), cdata.get("unit"), optional=True)
            if cid and clabel and ctype:
                cols.append(Column(cid, clabel, ctype, unit))
        columns = tuple(cols)
        rows_value = r.number((*path, "rows"), data.get("rows"), integer=True)
        if rows_value is None or not 1 <= rows_value <= 50:
            r.problem((*path, "rows"), "a table field needs rows: 1 to 50")
        else:
            rows = int(rows_value)
    low = r.number((*path, "min"), data.get("min"))
    high = r.number((*path, "max"), data.get("max"))
    if low is not None and high is not None and low > high:
        r.problem((*path, "min"), f"min {low} is greater than max {high}")
    max_length = r.number((*path, "max_length"), data.get("max_length"), integer=True)
    derive = r.expression((*path, "derive"), data["derive"]) if "derive" in data else None
    if not (field_id and label and ftype):
        return None
    return Field(
        id=field_id, label=label, type=ftype,
        required=r.flag((*path, "required"), data.get("required")),
        multiline=r.flag((*path, "multiline"), data.get("multiline")),
        max_length=int(max_length) if max_length is not None else None,
        options=options, multiple=r.flag((*path, "multiple"), data.get("multiple")),
        min=low, max=high, integer=r.flag((*path, "integer"), data.get("integer")),
        unit=r.text((*path, "unit"), data.get("unit"), optional=True),
        derive=derive, columns=columns, rows=rows,
        help=r.text((*path, "help"), data.get("help"), optional=True),
        personal=r.flag((*path, "personal"), data.get("personal")),
    )


def _build_step(r: _Reader, path: Path_, item: Any) -> Step | None:
    data = r.mapping(path, item, _STEP_KEYS, _STEP_OPTIONAL)
    if data is None:
        return None
    step_id = r.ident((*path, "id"), data.get("id"))
    lane = r.ident((*path, "lane"), data.get("lane"))
    kind = r.one_of((*path, "kind"), data.get("kind"), STEP_KINDS)
    text = r.text((*path, "text"), data.get("text"))
    nxt = r.ident((*path, "next"), data["next"]) if "next" in data else None
    exits: list[Exit] = []
    if "exits" in data:
        for i, item_ in enumerate(r.items((*path, "exits"), data["exits"])):
            epath = (*path, "exits", i)
            edata = r.mapping(epath, item_, {"label", "to"}, {"when"})
            if edata is None:
                continue
            label = r.text((*epath, "label"), edata.get("label"))
            to = r.ident((*epath, "to"), edata.get("to"))
            when = r.expression((*epath, "when"), edata["when"]) if "when" in edata else None
            if label and to and ("when" not in edata or when):
                exits.append(Exit(label, to, when))
    decisions = r.strings((*path, "decisions"), data["decisions"]) if "decisions" in data else ()
    ref = None
    if "ref" in data:
        rdata = r.mapping((*path, "ref"), data["ref"], set(), {"flow", "external"})
        if rdata is not None:
            if len(rdata) != 1:
                r.problem((*path, "ref"), "ref names exactly one of flow: CODE or external: 名称")
            else:
                ref = Ref(
                    flow=r.text((*path, "ref", "flow"), rdata["flow"]) if "flow" in rdata else None,
                    external=r.text((*path, "ref", "external"), rdata["external"])
                    if "external" in rdata else None,
                )
    source_text = r.text((*path, "source_text"), data.get("source_text"), optional=True)
    role = r.ident((*path, "role"), data["role"]) if "role" in data else None
    if role is not None and kind not in ("start", "approval", "decision"):
        r.problem((*path, "role"), f"{'an' if kind == 'end' else 'a'} {kind} step is signed by "
                  "nobody; only a start, approval or decision step takes a role")
    if kind:
        _check_step_shape(r, path, kind, data)
    if kind == "approval" and not decisions:
        decisions = DEFAULT_APPROVAL_DECISIONS
    if kind == "decision" and not decisions and not any(e.when for e in exits):
        decisions = tuple(e.label for e in exits)  # a judgement: the labels are the choices
    quorum = _quorum(r, path, kind, data)
    cc = r.strings((*path, "cc"), data["cc"]) if "cc" in data else ()
    max_visits = None
    if "max_visits" in data:
        n = r.number((*path, "max_visits"), data["max_visits"], integer=True)
        if n is None or not 1 <= n <= 50:
            r.problem((*path, "max_visits"), "max_visits is how many times a record may pass "
                      "the step: 1 to 50")
        else:
            max_visits = int(n)
    document = None
    if "document" in data:
        ddata = r.mapping((*path, "document"), data["document"], {"name", "field"}, set())
        if ddata is not None:
            name = r.text((*path, "document", "name"), ddata.get("name"))
            cited = r.ident((*path, "document", "field"), ddata.get("field"))
            if name and cited:
                document = Document(name, cited)
        if kind in ("start", "end", "ref"):
            r.problem((*path, "document"), f"{'an' if kind == 'end' else 'a'} {kind} step cannot "
                      "stand for a separate document (a record starts with its own start)")
    if not (step_id and lane and kind and text):
        return None
    return Step(step_id, lane, kind, text, nxt, tuple(exits), decisions, ref, source_text,
                quorum, cc, role, max_visits=max_visits, document=document)


def _quorum(r: _Reader, path: Path_, kind: str | None, data: dict) -> int | None:
    """``sign: all`` (会签: every resolved signer) or ``sign: any`` (或签, the default), with
    ``at_least: N`` for any N of them; only an approval is signed by several."""
    if not ({"sign", "at_least"} & set(data)):
        return 1
    if kind != "approval":
        r.problem((*path, "sign" if "sign" in data else "at_least"),
                  "only an approval step is signed by several people (会签/或签)")
        return 1
    mode = r.one_of((*path, "sign"), data["sign"], ("all", "any")) if "sign" in data else "any"
    if "at_least" in data:
        n = r.number((*path, "at_least"), data["at_least"], integer=True)
        if mode == "all":
            r.problem((*path, "at_least"), "at_least goes with sign: any (会签 needs all)")
        elif n is None or not 1 <= n <= 50:
            r.problem((*path, "at_least"), "at_least is how many must approve: 1 to 50")
        else:
            return int(n)
        return 1
    return None if mode == "all" else 1


def _check_step_shape(r: _Reader, path: Path_, kind: str, data: dict) -> None:
    """Which keys a kind of step takes: caught here so the graph checks see sane steps."""
    has = set(data)
    if kind in ("start", "task") and "next" not in has:
        r.problem(path, f"a {kind} step needs next (only end and ref steps end the flow)")
    if kind in ("start", "task", "ref", "end"):
        for key in sorted(has & {"exits", "decisions"}):
            r.problem((*path, key), f"a {kind} step has no {key}; use approval or decision")
    if kind == "end" and "next" in has:
        r.problem((*path, "next"), "an end step has no next")
    if kind == "approval" and ("next" in has) == ("exits" in has):
        r.problem(path, "an approval step needs either next (the approved path) or exits")
    if kind == "decision":
        if "next" in has:
            r.problem((*path, "next"), "a decision step has exits, not next")
        if "exits" not in has:
            r.problem(path, "a decision step needs exits")
    if kind == "ref" and "ref" not in has:
        r.problem(path, "a ref step needs ref: {flow: CODE} or ref: {external: 名称}")
    if kind != "ref" and "ref" in has:
        r.problem((*path, "ref"), "only a ref step has ref")


def _build_org(r: _Reader) -> Org | None:
    data = r.mapping((), r.located.data, {"company", "department", "roles", "people"},
                     {"signoff", "departments", "authority"})
    if data is None:
        return None
    roles = []
    for i, item in enumerate(r.items(("roles",), data.get("roles"))):
        rdata = r.mapping(("roles", i), item, {"id", "name"}, {"anyone", "sole"})
        if rdata is None:
            continue
        rid = r.ident(("roles", i, "id"), rdata.get("id"))
        name = r.text(("roles", i, "name"), rdata.get("name"))
        if rid and name:
            roles.append(Role(rid, name, r.flag(("roles", i, "anyone"), rdata.get("anyone")),
                              r.flag(("roles", i, "sole"), rdata.get("sole"))))
    departments = _build_departments(r, data)
    people = []
    for i, item in enumerate(r.items(("people",), data.get("people"))):
        path: Path_ = ("people", i)
        pdata = r.mapping(path, item, {"name", "department", "title", "roles"}, set())
        if pdata is None:
            continue
        name = r.text((*path, "name"), pdata.get("name"))
        dept = r.text((*path, "department"), pdata.get("department"))
        title = r.text((*path, "title"), pdata.get("title"))
        held = r.strings((*path, "roles"), pdata.get("roles"))
        if departments and dept and dept not in {d.id for d in departments}:
            r.problem((*path, "department"), f"department '{dept}' is not a department id of "
                      "departments")
        if name and dept and title:
            people.append(Person(name, dept, title, held))
    names = {p.name for p in people}
    for i, d in enumerate(departments):
        for key in ("head", "director"):
            who = getattr(d, key)
            if who is not None and who not in names:
                r.problem(("departments", i, key), f"{key} '{who}' of {d.name} is not a person "
                          "of people")
    return Org(
        company=r.text(("company",), data.get("company")) or "",
        department=r.text(("department",), data.get("department")) or "",
        roles=tuple(roles), people=tuple(people),
        origin=Origin(r.located.file, r.located.lines),
        signoff=r.signoff(("signoff",), data.get("signoff")),
        content_hash=content_hash(data),
        departments=departments,
        authority=_authority(r, data.get("authority"), {role.id for role in roles}),
    )


def _build_departments(r: _Reader, data: dict) -> tuple[Department, ...]:
    """The company's tree: every parent a department, no department its own ancestor (an
    approver walk up the tree must end), one top."""
    if "departments" not in data:
        return ()
    out: list[Department] = []
    for i, item in enumerate(r.items(("departments",), data["departments"])):
        path: Path_ = ("departments", i)
        ddata = r.mapping(path, item, {"id", "name"}, {"parent", "head", "director"})
        if ddata is None:
            continue
        did = r.ident((*path, "id"), ddata.get("id"))
        name = r.text((*path, "name"), ddata.get("name"))
        parent, head, director = (
            r.text((*path, key), ddata.get(key), optional=True)
            for key in ("parent", "head", "director"))
        if did and any(d.id == did for d in out):
            r.problem((*path, "id"), f"department id '{did}' is used twice")
        elif did and name:
            out.append(Department(did, name, parent, head, director))
    ids = {d.id: i for i, d in enumerate(out)}
    for i, d in enumerate(out):
        if d.parent is not None and d.parent not in ids:
            r.problem(("departments", i, "parent"), f"parent '{d.parent}' of {d.name} is not a "
                      "department id")
            continue
        seen, current = {d.id}, d
        while current.parent is not None and current.parent in ids:
            current = out[ids[current.parent]]
            if current.id in seen:
                r.problem(("departments", i, "parent"), f"{d.name} is its own ancestor (the "
                          "parents make a cycle)")
                break
            seen.add(current.id)
    if out and sum(d.parent is None for d in out) != 1:
        r.problem(("departments",), "exactly one department has no parent (the top of the "
                  "company)")
    return tuple(out)


def _authority(r: _Reader, value: Any, role_ids: set[str]) -> tuple[Authority, ...]:
    """The 授权审批权限表: ``authority: [{id: refund, name: 退款, unit: 元,
    limits: {customer_service: 500, ec_manager: 3000}, note: …}, …]``; each limit is the
    highest amount that role approves, the levels in rising order."""
    out: list[Authority] = []
    for i, item in enumerate(r.items(("authority",), value, empty_ok=True)):
        path: Path_ = ("authority", i)
        data = r.mapping(path, item, {"id", "name", "unit", "limits"}, {"note"})
        if data is None:
            continue
        aid = r.ident((*path, "id"), data.get("id"))
        name = r.text((*path, "name"), data.get("name"))
        unit = r.text((*path, "unit"), data.get("unit"))
        note = r.text((*path, "note"), data.get("note"), optional=True)
        limits = data.get("limits")
        if (*path, "limits") in r.missing:
            continue
        if not isinstance(limits, dict) or not limits:
            r.problem((*path, "limits"), "limits must be a mapping of role: highest amount, "
                      f"not {_kind(limits)}")
            continue
        pairs: list[tuple[str, Any]] = []
        for role, amount in limits.items():
            lpath: Path_ = (*path, "limits", role)
            number = r.number(lpath, amount)
            if not isinstance(role, str) or role not in role_ids:
                r.problem(lpath, f"'{role}' is not a role declared in roles")
            elif number is None or number <= 0:
                if number is not None:
                    r.problem(lpath, f"the limit of '{role}' must be above 0, not {number}")
            elif pairs and number <= pairs[-1][1]:
                r.problem(lpath, f"the limit of '{role}' ({number}) must be above the one before "
                          f"it ('{pairs[-1][0]}': {pairs[-1][1]}); list the levels in rising order")
            else:
                pairs.append((role, number))
        if any(a.id == aid for a in out):
            r.problem((*path, "id"), f"authority '{aid}' is declared twice")
        elif aid and name and unit and pairs:
            out.append(Authority(aid, name, unit, tuple(pairs), note))
    return tuple(out)


def _build_keys(r: _Reader, org: Org | None) -> tuple[PublicKey, ...] | None:
    data = r.mapping((), r.located.data, {"keys"}, set())
    if data is None:
        return None
    out: dict[str, PublicKey] = {}
    for i, item in enumerate(r.items(("keys",), data.get("keys"), empty_ok=True)):
        path: Path_ = ("keys", i)
        kdata = r.mapping(path, item, {"id", "person", "public"}, {"vouch"})
        if kdata is None:
            continue
        kid = r.hex((*path, "id"), kdata.get("id"), 32, "a key id")
        person = r.text((*path, "person"), kdata.get("person"))
        public = r.hex((*path, "public"), kdata.get("public"), 64, "an Ed25519 public key")
        if not (kid and person and public):
            continue
        if key_id(bytes.fromhex(public)) != kid:
            r.problem((*path, "id"), f"id {kid} is not the id of this public key")
        elif kid in out:
            r.problem((*path, "id"), f"key {kid} is registered twice")
        elif org is not None and org.person(person) is None:
            r.problem((*path, "person"), f"'{person}' is not a person in org.yaml")
        else:
            vouch = kdata.get("vouch")
            pairs: tuple[tuple[str, str], ...] = ()
            if vouch is not None:
                vdata = r.mapping((*path, "vouch"), vouch, {"by", "time", "sig"}, set())
                if vdata is not None:
                    pairs = tuple((k, str(vdata[k])) for k in ("by", "time", "sig"))
            out[kid] = PublicKey(kid, person, bytes.fromhex(public), pairs)
    return tuple(out.values())


def _build_manual(r: _Reader) -> Manual | None:
    keys = {"title", "company", "department", "document_number", "revision", "issue_date",
            "effective_date", "preface"}
    data = r.mapping((), r.located.data, keys, {"confidentiality", "signoff", "distribution"})
    if data is None:
        return None
    issue = r.date(("issue_date",), data.get("issue_date"))
    effective = r.date(("effective_date",), data.get("effective_date"))
    return Manual(
        title=r.text(("title",), data.get("title")) or "",
        company=r.text(("company",), data.get("company")) or "",
        department=r.text(("department",), data.get("department")) or "",
        document_number=r.text(("document_number",), data.get("document_number")) or "",
        revision=r.text(("revision",), data.get("revision")) or "",
        issue_date=issue or dt.date.min,
        effective_date=effective or dt.date.min,
        confidentiality=r.text(("confidentiality",), data.get("confidentiality"), optional=True),
        preface=r.text(("preface",), data.get("preface")) or "",
        signoff=r.signoff(("signoff",), data.get("signoff")),
        origin=Origin(r.located.file, r.located.lines),
        distribution=_distribution(r, data.get("distribution")),
    )


def _distribution(r: _Reader, value) -> tuple[Distribution, ...]:
    """The 分发清单: ``[{copy: 1, holder: 电子商务部, on: 2026-11-20}, …]``."""
    out: list[Distribution] = []
    if value is None:
        return ()
    for i, item in enumerate(r.items(("distribution",), value, empty_ok=True)):
        path: Path_ = ("distribution", i)
        data = r.mapping(path, item, {"copy", "holder", "on"}, set())
        if data is None:
            continue
        number = r.number((*path, "copy"), data.get("copy"), integer=True)
        holder = r.text((*path, "holder"), data.get("holder"))
        issued = r.date((*path, "on"), data.get("on"))
        if number is None or holder is None or issued is None:
            continue
        if any(d.copy == int(number) for d in out):
            r.problem((*path, "copy"), f"copy {int(number)} is listed twice")
            continue
        out.append(Distribution(int(number), holder, issued))
    return tuple(out)
