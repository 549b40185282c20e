"""The rules that span steps, files and people: the graph and document-control checks, and
``check_paths``, which loads a flows folder and checks it in one call (what ``flowdoc check``
and every other command start with).

The loader has already checked each file's shape; here a flow is checked as a process (one
start, everything reachable, every decision covering every case, references that resolve) and
as a controlled document (sign-off by real people, in date order, complete when 受控).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

from . import expr
from .errors import Problem
from .expr import FUNCTIONS, Expr
from .loader import flow_files, load_library
from .model import Flow, Library, Org, Origin, Signoff, Step

RESERVED_NAMES = frozenset({"decision", *FUNCTIONS})


def check_library(library: Library) -> list[Problem]:
    """Every problem of every flow, the org and the manual, sorted by file and line."""
    problems: list[Problem] = []
    org = library.org
    if org is not None:
        problems += check_org(org)
        if any(e for _, _, e in org.signoff.entries()):
            problems += check_signoff(org.signoff, org, org.origin, "受控", "org.yaml")
            if not org.signed_off:
                bad = next((f"{m} {e.invalid}" for _, m, e in org.signoff.entries()
                            if e is not None and e.invalid), None) or next(
                    ("it has changed since it was signed" for _, _, e in org.signoff.entries()
                     if e is not None and e.hash != org.content_hash),
                    "its sign-off is incomplete")
                problems.append(Problem(org.origin.file, org.origin.line("signoff"), "signoff",
                                        f"org.yaml is not signed off ({bad}): records cannot be "
                                        "archived under it until it is", "warning"))
    if library.manual is not None and org is not None:
        problems += check_signoff(library.manual.signoff, org, library.manual.origin, "受控",
                                   "manual")
    files_of: dict[str, list[str]] = {}
    for flow in library.flows:
        files_of.setdefault(flow.code, []).append(flow.origin.file)
    for flow in library.flows:
        others = [f for f in files_of[flow.code] if f != flow.origin.file]
        if others:
            problems.append(Problem(flow.origin.file, flow.origin.line("code"), "",
                                    f"code '{flow.code}' is also used by {', '.join(others)}"))
        problems += check_flow(flow, library)
    if org is None:
        problems.append(Problem("org.yaml", 0, "", "org.yaml is missing: lanes and sign-offs "
                                "cannot be checked against people"))
    return sorted(set(problems))


def check_org(org: Org) -> list[Problem]:
    out: list[Problem] = []
    at = org.origin
    for name, count in Counter(r.id for r in org.roles).items():
        if count > 1:
            out.append(Problem(at.file, at.line("roles"), "roles", f"role '{name}' is declared twice"))
    for name, count in Counter(p.name for p in org.people).items():
        if count > 1:
            out.append(Problem(at.file, at.line("people"), "people",
                               f"person '{name}' is listed twice"))
    role_ids = {r.id for r in org.roles}
    for i, person in enumerate(org.people):
        for role in person.roles:
            if role not in role_ids:
                out.append(Problem(at.file, at.line("people", i, "roles"), f"people[{i}] '{person.name}'",
                                   f"role '{role}' is not declared in roles"))
    return out


class _FlowChecker:
    def __init__(self, flow: Flow, library: Library) -> None:
        self.flow = flow
        self.library = library
        self.problems: list[Problem] = []
        self.index = {s.id: i for i, s in enumerate(flow.steps)}

    def add(self, path: tuple[Any, ...], message: str, where: str | None = None) -> None:
        origin = self.flow.origin
        if where is None:
            where = self._where(path)
        self.problems.append(Problem(origin.file, origin.line(*path), where, message))

    def _where(self, path: tuple[Any, ...]) -> str:
        if len(path) >= 2 and isinstance(path[1], int):
            items = {"steps": self.flow.steps, "lanes": self.flow.lanes, "fields": self.flow.fields}
            seq = items.get(path[0], ())
            ident = f" '{seq[path[1]].id}'" if path[1] < len(seq) else ""
            return f"{path[0]}[{path[1]}]{ident}"
        return ""

    def step_path(self, step: Step, *rest: Any) -> tuple[Any, ...]:
        return ("steps", self.index[step.id], *rest)

    # -----------------------------------------------------------------------------------------
    def run(self) -> list[Problem]:
        self.unique_ids()
        self.lanes()
        self.step_roles()
        self.separate()
        self.graph()
        self.fields()
        self.personal()
        self.documents()
        for step in self.flow.steps:
            self.exits(step)
            self.reference(step)
        org = self.library.org
        if org is not None:
            self.problems += check_signoff(self.flow.signoff, org, self.flow.origin,
                                            self.flow.status, "flow")
        self.binding()
        return self.problems

    def binding(self) -> None:
        """Sign-offs that do not count: given to other content (the flow changed after it was
        signed), or not signed with the signer's own key registered in keys.yaml."""
        now = self.flow.content_hash
        draft = " (printed as 草稿 until then)" if self.flow.status == "受控" else ""
        for key, meaning, entry in self.flow.signoff.entries():
            if entry is None:
                continue
            path = ("signoff", key)
            where = f"signoff.{key}"
            again = (f"sign it with flowdoc flow sign {self.flow.code} --as {entry.by} "
                     f"--meaning {meaning}")
            if entry.given_to_other(now):
                message = (f"{meaning} by {entry.by} was given to other content "
                           f"({entry.hash[:12]}…); the flow has changed since (now {now[:12]}…): "
                           f"sign it again{draft}")
                path = (*path, "hash")
            elif entry.invalid is not None and (self.flow.status == "受控" or entry.key):
                message = f"{meaning} by {entry.by} {entry.invalid}; {again}{draft}"
            else:
                continue
            self.problems.append(Problem(self.flow.origin.file, self.flow.origin.line(*path),
                                         where, message, "warning"))

    def unique_ids(self) -> None:
        for kind, items in (("steps", self.flow.steps), ("lanes", self.flow.lanes),
                            ("fields", self.flow.fields)):
            seen: set[str] = set()
            for i, item in enumerate(items):
                if item.id in seen:
                    self.add((kind, i, "id"), f"id '{item.id}' is used twice in {kind}")
                seen.add(item.id)
        for i, f in enumerate(self.flow.fields):
            if f.id in RESERVED_NAMES:
                self.add(("fields", i, "id"), f"'{f.id}' is a reserved name; choose another id")

    def lanes(self) -> None:
        declared = {lane.id for lane in self.flow.lanes}
        used = {s.lane for s in self.flow.steps}
        for step in self.flow.steps:
            if step.lane not in declared:
                self.add(self.step_path(step, "lane"), f"lane '{step.lane}' is not declared")
        org = self.library.org
        for i, lane in enumerate(self.flow.lanes):
            if lane.id not in used:
                self.add(("lanes", i), f"lane '{lane.id}' ({lane.name}) has no step")
            if org is None:
                continue
            role = org.role(lane.role)
            if role is None:
                self.add(("lanes", i, "role"), f"role '{lane.role}' is not declared in org.yaml")
            elif lane.relative and not org.departments:
                self.add(("lanes", i, "approver"),
                         f"lane '{lane.id}' is resolved from the applicant's department "
                         f"(approver: {lane.approver}), but org.yaml has no departments")
            elif lane.relative:
                pass  # the org tree names one person a department; two holders are not needed
            elif role.sole and len(org.holders(lane.role)) != 1:
                self.add(("lanes", i, "role"),
                         f"role '{lane.role}' is marked sole but is held by "
                         f"{len(org.holders(lane.role))} person(s) in org.yaml")
            elif not role.anyone and not role.sole and len(org.holders(lane.role)) < 2:
                self.add(("lanes", i, "role"),
                         f"role '{lane.role}' is held by {len(org.holders(lane.role))} person(s) "
                         "in org.yaml; at least two are needed so preparer and approver can differ")

    def signers(self, step: Step) -> tuple[str, ...] | None:
        """Who in org.yaml may sign ``step`` (its lane's role and its own role, if it has one);
        None when anyone may (an ``anyone`` lane and no step role) or the roles are unknown."""
        org = self.library.org
        try:
            lane = self.flow.lane(step.lane)
        except KeyError:
            return None
        roles = [r for r in (lane.role, step.role) if r is not None]
        if org is None or any(org.role(r) is None for r in roles):
            return None
        roles = [r for r in roles if not org.role(r).anyone]
        if not roles:
            return None
        return tuple(p.name for p in org.people if all(r in p.roles for r in roles))

    def step_roles(self) -> None:
        """A step role narrows its lane: it must be declared, and someone must hold both."""
        org = self.library.org
        if org is None:
            return
        for step in self.flow.steps:
            if step.role is None:
                continue
            path = self.step_path(step, "role")
            if org.role(step.role) is None:
                self.add(path, f"role '{step.role}' is not declared in org.yaml")
            elif self.signers(step) == ():
                lane = next((la for la in self.flow.lanes if la.id == step.lane), None)
                self.add(path, f"nobody in org.yaml holds both the lane's role "
                         f"'{lane.role if lane else step.lane}' and role '{step.role}'")

    def separate(self) -> None:
        """Segregation of duties: warn when one person may sign both steps of a pair (a
        padded org.yaml shows up here; the archive refuses it at run time)."""
        for i, (a, b) in enumerate(self.flow.separate):
            first, second = self.flow.step(a), self.flow.step(b)
            one, two = self.signers(first), self.signers(second)
            if one is None or two is None:
                continue  # anyone may act in one of them: the applicant rule keeps them apart
            both = [p for p in one if p in two]
            if both:
                self.problems.append(Problem(
                    self.flow.origin.file, self.flow.origin.line("separate", i),
                    f"separate[{i}]", f"{'、'.join(both)} may sign both '{a}' "
                    f"({self._who(first)}) and '{b}' ({self._who(second)}) in org.yaml; one "
                    "person must not sign both in one record", "warning"))

    def _who(self, step: Step) -> str:
        org = self.library.org
        lane = self.flow.lane(step.lane)
        if step.role and org is not None and (role := org.role(step.role)):
            return f"{lane.name}·{role.name}"
        return lane.name

    def graph(self) -> None:
        steps = {s.id: s for s in self.flow.steps}
        starts = [s for s in self.flow.steps if s.kind == "start"]
        if not starts:
            self.add(("steps",), "the flow has no start step", where="steps")
        for extra in starts[1:]:
            self.add(self.step_path(extra, "kind"),
                     f"a second start step (the first is '{starts[0].id}')")
        for step in self.flow.steps:
            if step.next and step.next not in steps:
                self.add(self.step_path(step, "next"), f"next '{step.next}' is not a step")
            if step.next == step.id:
                self.add(self.step_path(step, "next"), "a step cannot lead to itself")
            for j, ex in enumerate(step.exits):
                if ex.to not in steps:
                    self.add(self.step_path(step, "exits", j, "to"), f"exit '{ex.label}' goes to "
                             f"'{ex.to}', which is not a step")
                elif ex.to == step.id:
                    self.add(self.step_path(step, "exits", j, "to"),
                             f"exit '{ex.label}' leads back to the step itself")
        dangling = any(t not in steps for s in self.flow.steps for t in s.successors)
        if not starts or dangling:
            return  # reachability would only repeat the broken reference in other words
        reached = _walk([starts[0].id], lambda s: steps[s].successors if s in steps else ())
        preds: dict[str, list[str]] = {}
        for step in self.flow.steps:
            for target in step.successors:
                preds.setdefault(target, []).append(step.id)
        ends = [s.id for s in self.flow.steps if s.is_end]
        if not ends:
            self.add(("steps",), "the flow has no end (an end step, or a ref step without next)",
                     where="steps")
        finishing = _walk(ends, lambda s: preds.get(s, ()))
        for step in self.flow.steps:
            if step.id not in reached:
                self.add(self.step_path(step), f"step '{step.id}' cannot be reached from the start")
            elif ends and step.id not in finishing:
                self.add(self.step_path(step), f"step '{step.id}' can never reach an end")
        self.unsigned_loops(steps)

    def unsigned_loops(self, steps: dict[str, Step]) -> None:
        """A loop back that nobody signs on the way (tasks and decisions routed by the fields):
        the same values take it again and again, so a record there never moves on."""
        free = {sid for sid, s in steps.items() if not s.signed and not s.is_end}
        for step in self.flow.steps:
            if not step.automatic:
                continue
            for ex in step.exits:
                if ex.to not in free:
                    continue
                back = _walk([ex.to], lambda s, home=step.id: [
                    t for t in steps[s].successors if t in free or t == home])
                if step.id in back:
                    self.add(self.step_path(step, "exits", step.exits.index(ex), "to"),
                             f"exit '{ex.label}' loops back to '{step.id}' with nobody signing "
                             "on the way: the same values take it again for ever; lead it "
                             "through a signed step or to an end")

    def fields(self) -> None:
        ids = {f.id for f in self.flow.fields}
        derived: dict[str, Expr] = {f.id: f.derive for f in self.flow.fields if f.derive}
        for i, f in enumerate(self.flow.fields):
            if f.derive is None:
                continue
            for name in sorted(f.derive.names - ids):
                self.add(("fields", i, "derive"), f"derive names '{name}', which is not a field")
            if f.derive.limits:  # a record's values are its own: the org in force may change
                self.add(("fields", i, "derive"), "a derived value cannot read limit(); compare "
                         "with the authority matrix in an exit's when instead")
            if f.required:
                self.add(("fields", i, "required"), "a derived field is computed, never required")
            stray = [b for b in expr.band_labels(f.derive) if b not in f.options]
            if f.type == "choice" and stray:
                self.add(("fields", i, "derive"), f"band() gives '{stray[0]}', which is not an "
                         f"option of '{f.id}' ({'/'.join(f.options)})")
        # a derivation may not depend on itself, directly or through another derived field
        for fid in derived:
            if fid in _walk(list(derived[fid].names), lambda n: derived[n].names if n in derived else ()):
                self.add(("fields", [f.id for f in self.flow.fields].index(fid), "derive"),
                         f"derive of '{fid}' depends on itself")

    def personal(self) -> None:
        """Personal information is kept no longer than the flow says (个人信息保护法第19条):
        a flow with a ``personal`` field names its 保存期限."""
        personal = [(i, f) for i, f in enumerate(self.flow.fields) if f.personal]
        if personal and not self.flow.retention:
            i = personal[0][0]
            names = "、".join(f"{f.label}（{f.id}）" for _, f in personal)
            self.add(("fields", i, "personal"), f"the flow collects personal information "
                     f"({names}) but gives no retention period: add retention: (保存期限, "
                     f"e.g. 3年) to the flow")

    def documents(self) -> None:
        """A step standing for a separate controlled document names the field a record cites
        it in (文件编号、版本)."""
        ids = {f.id for f in self.flow.fields}
        for step in self.flow.steps:
            if step.document is not None and step.document.field not in ids:
                self.add(self.step_path(step, "document", "field"),
                         f"document field '{step.document.field}' is not a field of the flow")

    def exits(self, step: Step) -> None:
        if step.kind not in ("approval", "decision"):
            return
        path = self.step_path(step)
        for name, count in Counter(step.decisions).items():
            if count > 1:
                self.add((*path, "decisions"), f"decision '{name}' is listed twice")
        if not step.exits:
            return
        if len(step.exits) < 2:
            self.add((*path, "exits"), f"a {step.kind} needs at least two exits")
        if len(step.exits) > 3:
            # a chart shape has three free sides (the flow comes in at the top); more exits
            # cannot be drawn apart, and a reader cannot follow them either
            self.add((*path, "exits"), f"a {step.kind} has at most three exits, not "
                     f"{len(step.exits)}; split it into two steps")
        for label, count in Counter(e.label for e in step.exits).items():
            if count > 1:
                self.add((*path, "exits"), f"exit label '{label}' is used twice")
        for target, count in Counter(e.to for e in step.exits).items():
            if count > 1:
                self.add((*path, "exits"), f"{count} exits lead to '{target}'; make them one exit "
                         "(join the conditions with or)")
        defaults = [j for j, e in enumerate(step.exits) if e.when is None and e.label not in step.decisions]
        for j in defaults[:-1]:
            self.add((*path, "exits", j), f"exit '{step.exits[j].label}' has no when and is not one "
                     f"of the decisions ({'/'.join(step.decisions)}); only the last exit may be the default")
        if defaults and defaults[-1] != len(step.exits) - 1:
            j = defaults[-1]
            self.add((*path, "exits", j), f"default exit '{step.exits[j].label}' must be the last "
                     "(exits after it could never be taken)")
        field_types = {f.id: f for f in self.flow.fields}
        conditions: list[Expr] = []
        ok = True
        for j, ex in enumerate(step.exits):
            if ex.when is None:
                if ex.label in step.decisions:
                    conditions.append(expr.parse(f"decision == {ex.label!r}"))
                continue
            when = self._bound(ex.when, (*path, "exits", j, "when"))
            if when is None:
                ok = False
                continue
            conditions.append(when)
            if "decision" in ex.when.names and not step.decisions:
                self.add((*path, "exits", j, "when"), "this decision is routed by the record's "
                         "fields alone; give it decisions: to let a signer decide")
                ok = False
            for name in sorted(ex.when.names - field_types.keys() - {"decision"}):
                self.add((*path, "exits", j, "when"), f"condition names '{name}', which is not a "
                         "field of this flow")
                ok = False
            for atom in ex.when.atoms:
                self._check_literal(atom, step, field_types, (*path, "exits", j, "when"))
                self._check_threshold(atom, field_types, (*path, "exits", j, "when"))
        if defaults or not ok:
            return
        domains = self._domains(step, conditions, field_types)
        if domains is None:
            self.add((*path, "exits"), "cannot prove the exits cover every case; add a default "
                     "exit (one without when, last)")
            return
        try:
            case = expr.uncovered_case(conditions, domains)
        except expr.ExprError:
            self.add((*path, "exits"), "too many cases to prove the exits cover them; add a default exit")
            return
        if case is not None:
            shown = ", ".join(f"{k}={_show(v)}" for k, v in case.items())
            self.add((*path, "exits"), f"no exit is taken when {shown}; add a default exit or "
                     "cover that case")

    def _bound(self, condition: Expr, path: tuple) -> Expr | None:
        """``condition`` with its limit(kind, level) read from the org's authority matrix."""
        if not condition.limits:
            return condition
        org = self.library.org
        if org is None:
            self.add(path, "names a limit of the authority matrix, but there is no org.yaml")
            return None
        try:
            return expr.bind(condition, org.limits)
        except expr.ExprError as exc:
            self.add(path, str(exc))
            return None

    def _check_threshold(self, atom: expr.Atom, fields: dict, path: tuple) -> None:
        """A number the authority matrix names, written into a condition: two flows could
        then disagree on one limit, and changing the matrix would not change the flow."""
        org = self.library.org
        f = fields.get(atom.name)
        if org is None or f is None or f.type != "number" or isinstance(atom.value, bool) \
                or not isinstance(atom.value, int | float):
            return
        named = [(kind, role) for kind in org.authority if kind.unit == f.unit
                 for role, amount in kind.limits if amount == atom.value]
        if named:
            what = " or ".join(f"the {kind.name} limit of '{role}'" for kind, role in named)
            write = " or ".join(f"limit('{kind.id}', '{role}')" for kind, role in named)
            self.add(path, f"{atom.name} is compared with {atom.value}, {what} in the authority "
                     f"matrix of org.yaml; write {write} instead")

    def _check_literal(self, atom: expr.Atom, step: Step, fields: dict, path: tuple) -> None:
        values = atom.value if isinstance(atom.value, tuple) else (atom.value,)
        if atom.name == "decision":
            allowed: tuple[str, ...] = step.decisions
        elif atom.name in fields and fields[atom.name].type == "choice":
            allowed = fields[atom.name].options
        else:
            return
        for value in values:
            if value not in allowed:
                self.add(path, f"'{value}' is not one of the {atom.name} values ({'/'.join(allowed)})")

    def _domains(self, step: Step, conditions: list[Expr], fields: dict) -> dict | None:
        atoms = [a for c in conditions for a in c.atoms]
        if not all(c.simple for c in conditions):
            return None
        names = set().union(*(c.names for c in conditions))
        domains: dict[str, list[Any]] = {}
        for name in names:
            known: Iterable[Any] | None = None
            if name == "decision":
                known = step.decisions
            elif fields[name].type == "choice" and not fields[name].multiple:
                known = fields[name].options
            elif fields[name].type == "bool":
                known = (True, False)
            values = expr.sample_values(atoms, name, known)
            if known is None and fields.get(name) is not None and fields[name].integer:
                # a whole-number field never holds 5.5: only whole neighbours are real cases
                numbers = [v for v in values if isinstance(v, int | float | Decimal)
                           and not isinstance(v, bool)]
                values = sorted({int(v) for v in numbers} | {int(v) + 1 for v in numbers
                                                             if v != int(v)})
            domains[name] = values
        return domains

    def reference(self, step: Step) -> None:
        if step.kind != "ref" or step.ref is None or step.ref.flow is None:
            return
        code = step.ref.flow
        if code == self.flow.code:
            self.add(self.step_path(step, "ref"), "a flow cannot refer to itself")
        elif code not in {f.code for f in self.library.flows}:
            self.add(self.step_path(step, "ref"), f"ref flow '{code}' is not a flow of this manual")


def check_flow(flow: Flow, library: Library) -> list[Problem]:
    return _FlowChecker(flow, library).run()


_MEANINGS = (("prepared", "编制"), ("reviewed", "审核"), ("approved", "批准"))


def check_signoff(signoff: Signoff, org: Org, origin: Origin, status: str, what: str) -> list[Problem]:
    out: list[Problem] = []

    def add(key: str, message: str, sub: str | None = None) -> None:
        path = ("signoff", key, sub) if sub else ("signoff", key) if key else ("signoff",)
        out.append(Problem(origin.file, origin.line(*path) if key else origin.line("status"),
                           f"signoff.{key}" if key else "signoff", message))

    entries = [(key, meaning, getattr(signoff, key)) for key, meaning in _MEANINGS]
    for key, meaning, entry in entries:
        if entry is not None and org.person(entry.by) is None:
            add(key, f"{meaning}人员 '{entry.by}' is not a person in org.yaml", "by")
    dated = [(key, meaning, e) for key, meaning, e in entries if e is not None]
    for (_, m1, e1), (k2, m2, e2) in pairwise(dated):
        if e2.on < e1.on and e1.hash == e2.hash:  # an older edition's date is not out of order
            add(k2, f"{m2}日期 {e2.on} is before {m1}日期 {e1.on}", "on")
    if signoff.prepared and signoff.approved and signoff.prepared.by == signoff.approved.by:
        add("approved", f"批准人员 '{signoff.approved.by}' also prepared it; preparer and approver "
            "must differ", "by")
    if status == "受控":
        missing = [meaning for key, meaning, e in entries if e is None]
        if missing:
            add("", f"a 受控 {what} needs a complete sign-off; missing {'/'.join(missing)}")
        elif signoff.prepared.by != signoff.approved.by and signoff.reviewed.by in (
                signoff.prepared.by, signoff.approved.by):
            add("reviewed", f"审核人员 '{signoff.reviewed.by}' also prepared or approved it; a 受控 "
                "sign-off needs three different people", "by")
    return out


def _walk(starts: Iterable[str], successors: Any) -> set[str]:
    seen: set[str] = set()
    todo = list(starts)
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo.extend(successors(node))
    return seen


def _show(value: Any) -> str:
    if isinstance(value, str) and value.startswith("\u0000"):
        return "(another value)"
    return str(value)


# -- a folder loaded and checked in one call: what `flowdoc check` and `flowdoc build` start with

@dataclass(frozen=True)
class CheckResult:
    """A folder loaded and checked: the library, every problem (errors and warnings), and how
    many files were read. ``ok`` when no problem is an error."""

    library: Library
    problems: list[Problem]
    files: int

    @property
    def ok(self) -> bool:
        """No errors (warnings do not stop a build)."""
        return not self.errors

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def check_paths(paths: Iterable[Path], base: Path | None = None) -> CheckResult:
    """Check the flows named by ``paths`` (files or folders).

    References between flows are resolved against every flow in the folder of the first path,
    so checking one file still knows the rest of the manual; problems are reported only for
    the files asked about (and org.yaml / manual.yaml / keys.yaml, which every flow depends on).
    """
    paths = list(paths)
    missing = [Problem(str(p), 0, "", "no such file or folder") for p in paths if not p.exists()]
    if missing:
        return CheckResult(Library(None, None, ()), missing, 0)
    asked, home = flow_files(paths)
    loaded = load_library([home] if home is not None else [], base)
    problems = loaded.problems + check_library(loaded.library)
    if any(p.is_file() for p in paths):
        wanted = {_norm(p) for p in asked}
        problems = [p for p in problems if _norm(Path(p.file), base) in wanted
                    or Path(p.file).name in ("org.yaml", "manual.yaml", "keys.yaml",
                                             "trust.yaml")]
    return CheckResult(loaded.library, sorted(set(problems)), len(asked))


def _norm(path: Path, base: Path | None = None) -> Path:
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return path.resolve()
