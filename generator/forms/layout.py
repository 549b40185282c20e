"""Where everything on a flow's form goes (pure): text to print and the fields to fill.

Coordinates are PDF points with y up, on A4 portrait pages. Field names are stable paths a
reader of the filled PDF can rely on: ``fields.days``, ``fields.items.3.qty``,
``steps.head_approve.decision``, and the hidden ``form.flow`` / ``form.revision`` /
``form.hash`` that tie a filled form to the flow definition it was made from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .. import fonts
from ..model import Flow, Step
from ..typography import wrap

PAGE_W, PAGE_H = 595.28, 841.89
MARGIN = 40.0
LABEL_W = 120.0
ROW_H = 24.0  # room to write by hand: no row of the form is lower than 22 pt
MULTI_H = 50.0
TABLE_ROW_H = 24.0
SIGN_ROW_H = 24.0  # each of the two rows of a step's signature block
LABEL_LEADING = 12.0
TEXT = 10.0


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline
    text: str
    size: float = TEXT
    align: str = "left"  # left | center | right


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    fill: str | None = None


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # text | multiline | combo | check | hidden
    x: float
    y: float
    w: float
    h: float
    tooltip: str
    options: tuple[str, ...] = ()
    readonly: bool = False
    max_length: int | None = None
    value: str = ""  # the value the generator sets (hidden fields)


@dataclass
class FormPage:
    texts: list[Text] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    fields: list[FieldSpec] = field(default_factory=list)


@dataclass
class FormLayout:
    flow: Flow
    pages: list[FormPage]


def _countersign_rows(c, step, width: float) -> None:
    """One more signature row per further signer of a 会签 step (``sign: all`` prints two and
    says that every approver signs), for a signer's name, date and opinion by hand."""
    more = (step.quorum or 3) - 1
    note = f"会签：至少 {step.quorum} 人签字" if step.quorum else "会签：全体审批人签字"
    c.need(14 + more * (SIGN_ROW_H + 4))  # the note and its rows on one page
    c.page.texts.append(Text(MARGIN + LABEL_W + 4, c.y - 10, note, 8.5))
    c.y -= 14
    for k in range(more):
        h = SIGN_ROW_H
        c.need(h + 4)
        c.page.boxes.append(Box(MARGIN, c.y - h, width, h))
        c.page.boxes.append(Box(MARGIN, c.y - h, LABEL_W, h, "#eef1f5"))
        c.page.texts.append(Text(MARGIN + 4, c.y - 15, f"{step.text}（会签 {k + 2}）", 9))
        x = MARGIN + LABEL_W + 4
        for label, at in (("签字人", 0), ("日期", 130), ("意见", 242)):
            c.page.texts.append(Text(x + at, c.y - 15, label, 8.5))
        c.y -= h + 4


def signed_steps(flow: Flow) -> list[Step]:
    """The steps that get a signature block: the applicant's start, approvals, judgements."""
    return [s for s in flow.steps if s.signed]


class _Cursor:
    def __init__(self, layout: FormLayout) -> None:
        self.layout = layout
        self.page = FormPage()
        layout.pages.append(self.page)
        self.y = PAGE_H - MARGIN

    def need(self, height: float) -> None:
        if self.y - height < MARGIN + 20:
            self.page = FormPage()
            self.layout.pages.append(self.page)
            self.y = PAGE_H - MARGIN - 10


def form_number(flow: Flow) -> str:
    """表单编号: the flow's code and revision, so a paper form names the flow it belongs to."""
    return f"{flow.code}-F-{flow.revision.replace('/', '')}"


def form_layout(flow: Flow, instructions: list[str], status: str,
                company: str | None = None,
                limits: Mapping[str, Mapping[str, Any]] | None = None) -> FormLayout:
    """The form's pages; ``limits`` (the org's authority matrix) lets the route sentence say
    the bounds a flow reads from it."""
    layout = FormLayout(flow, [])
    c = _Cursor(layout)
    width = PAGE_W - 2 * MARGIN
    p = c.page
    if company:
        p.texts.append(Text(PAGE_W / 2, c.y - 8, company, 10, "center"))
        c.y -= 12
    p.texts.append(Text(PAGE_W / 2, c.y - 18, f"{flow.name}记录表", 16, "center"))
    c.y -= 32
    # the revision is in the form number (and in the instructions below)
    p.texts.append(Text(MARGIN, c.y - 12, f"表单编号：{form_number(flow)}　流程编码：{flow.code}　"
                                          f"受控状态：{status}", 9))
    p.texts.append(Text(PAGE_W - MARGIN - 130, c.y - 12, "记录编号", 9, "right"))
    p.fields.append(FieldSpec("form.number", "text", PAGE_W - MARGIN - 125, c.y - 19, 125, 19,
                              "记录编号（归档时填写）", readonly=True))
    c.y -= 26
    for line in [*instructions, f"保存期限：{flow.retention_text}"]:
        for part in wrap(line, width, 8.5, fonts.text_width):
            p.texts.append(Text(MARGIN, c.y - 10, part, 8.5))
            c.y -= 12
    c.y -= 6
    for name, value in (("form.flow", flow.code), ("form.revision", flow.revision),
                        ("form.hash", flow.content_hash)):
        p.fields.append(FieldSpec(name, "hidden", 0, 0, 0, 0, name, readonly=True, value=value))
    _section_title(c, "填写内容")
    for f in flow.fields:
        label = ("*" if f.required else "") + f.label + (f"（{f.unit}）" if f.unit else "")
        if f.derive is not None:
            label += "（自动计算）"
        if f.type == "table":
            _table(c, f, label, width)
            continue
        kind = {"choice": "combo", "bool": "check"}.get(f.type, "multiline" if f.multiline else "text")
        lines = label_lines(label, LABEL_W - 8, 9.5)
        # the row grows with its label: a long label wraps, it never runs out of its cell
        h = max(MULTI_H if kind == "multiline" else ROW_H, len(lines) * LABEL_LEADING + 8)
        c.need(h)
        _label_row(c, lines, h, width)
        tip = f.label + (f"（{f.help}）" if f.help else "")
        tip += "，格式 YYYY-MM-DD" if f.type == "date" else ""
        fw = 14 if kind == "check" else width - LABEL_W - 4
        fh = 14 if kind == "check" else h - 4
        c.page.fields.append(FieldSpec(f"fields.{f.id}", kind, MARGIN + LABEL_W + 2,
                                       c.y - h + (h - fh) / 2, fw, fh, tip,
                                       tuple(["", *list(f.options)]) if kind == "combo" else (),
                                       readonly=f.derive is not None, max_length=f.max_length))
        c.y -= h
    c.y -= 10
    _section_title(c, "审批记录")
    for step in signed_steps(flow):
        lane = flow.lane(step.lane).name
        h = SIGN_ROW_H * 2
        c.need(h + 4)
        c.page.boxes.append(Box(MARGIN, c.y - h, width, h))
        c.page.boxes.append(Box(MARGIN, c.y - h, LABEL_W, h, "#eef1f5"))
        lines = wrap(step.box_text, LABEL_W - 8, 9.5, fonts.text_width)[:2]
        for i, line in enumerate(lines):
            c.page.texts.append(Text(MARGIN + 4, c.y - 13 - i * 11, line, 9.5))
        c.page.texts.append(Text(MARGIN + 4, c.y - 15 - len(lines) * 11, f"（{lane}）", 8.5))
        x = MARGIN + LABEL_W + 4
        sid = step.id
        c.page.texts.append(Text(x, c.y - 15, "签字人", 8.5))
        c.page.fields.append(FieldSpec(f"steps.{sid}.signer", "text", x + 34, c.y - 21, 90, 19,
                                       f"{step.text}（{lane}）签字人"))
        c.page.texts.append(Text(x + 130, c.y - 15, "日期", 8.5))
        c.page.fields.append(FieldSpec(f"steps.{sid}.date", "text", x + 154, c.y - 21, 80, 19,
                                       "签字日期，格式 YYYY-MM-DD"))
        if step.kind != "start":
            c.page.texts.append(Text(x + 242, c.y - 15, "意见", 8.5))
            c.page.fields.append(FieldSpec(f"steps.{sid}.decision", "combo", x + 266, c.y - 21,
                                           width - LABEL_W - 274, 19, f"{step.text}的意见",
                                           tuple(["", *list(step.decisions)])))
        c.page.texts.append(Text(x, c.y - 39, "说明", 8.5))
        c.page.fields.append(FieldSpec(f"steps.{sid}.comment", "text", x + 34, c.y - 45,
                                       width - LABEL_W - 42, 19, f"{step.text}的说明"))
        c.y -= h + 4
        if step.quorum != 1:  # 会签: a row on paper for each further signer
            _countersign_rows(c, step, width)
    route = route_lines(flow, limits)
    if route:
        c.y -= 6
        _section_title(c, "审批路线（由流程图生成）")
        sentence = route_sentence(flow, limits)
        for line in ([sentence] if sentence else []) + route:
            for part in _clause_wrap(line, width, 9):
                c.need(14)
                c.page.texts.append(Text(MARGIN, c.y - 10, part, 9))
                c.y -= 13
    return layout


def _clause_wrap(text: str, width: float, size: float) -> list[str]:
    """``text`` broken after its clauses (…；) where a clause fits a line, so that a range
    (> 50000 且 ≤ 200000) or a condition is never cut in two; a clause wider than a line is
    broken with 禁则 like any text."""
    lines: list[str] = []
    for clause in re.findall(r"[^；]+(?:；|$)", text):
        candidate = lines[-1] + clause if lines else clause
        if lines and fonts.text_width(candidate, size) <= width:
            lines[-1] = candidate
        elif fonts.text_width(clause, size) <= width:
            lines.append(clause)
        else:
            lines.extend(wrap(clause, width, size, fonts.text_width))
    return lines


def route_lines(flow: Flow, limits: Mapping[str, Mapping[str, Any]] | None = None
                ) -> list[str]:
    """The route in words, one line per step with a choice of exits, made from the flow's
    exits and their conditions (so the paper form says which rows apply to a request):
    ``部门负责人审批：不同意 → 未准假；5天内（请假天数 ≤ 5）→ 人力资源部审批；超过5天 → …``;
    a bound of the authority matrix (``limits``) as its number."""
    from ..expr import ExprError, bind

    steps = {s.id: s for s in flow.steps}
    labels = {f.id: f.label for f in flow.fields}

    def named(step: Step) -> str:
        if step.kind in ("end", "ref"):
            return step.text
        return flow.lane(step.lane).name + step.text

    out = []
    for step in flow.steps:
        if len(step.exits) < 2:
            continue
        parts = []
        for e in step.exits:
            when = e.when
            if when is not None and when.limits and limits is not None:
                with suppress(ExprError):  # else said as written: limit(kind, role)
                    when = bind(when, limits)
            cond = _in_words(when.source, labels) if when is not None else ""
            shown = f"{e.label}（{cond}）" if cond and cond != e.label else e.label
            parts.append(f"{shown} → {named(steps[e.to])}")
        out.append(f"{named(step)}：" + "；".join(parts))
    return out




def route_sentence(flow: Flow, limits: Mapping[str, Mapping[str, Any]] | None = None
                   ) -> str | None:
    """The approval route in one sentence, by the ranges of the one number the flow's exits
    compare (``请假天数 ≤ 5：部门负责人 → 人力资源部；6–30：+分管总监；> 30：+总经理``): who
    approves a request in each range, walking the flow from its start with every approval
    given, and for each range after the first only who joins the one before. None where the
    exits compare no number, or more than one, or a condition the walk cannot decide alone.

    ``limits``: the authority matrix of the org in force (``Org.limits``), which a bound
    written ``limit('kind', 'role')`` is read from; without it such a flow has no sentence."""
    from ..expr import ExprError, bind

    matrix = limits
    bounds: dict[str, set[tuple[str, Decimal]]] = {}
    for step in flow.steps:
        for e in step.exits:
            if e.when is None:
                continue
            condition = e.when
            if condition.limits:
                if matrix is None:
                    return None  # a bound the form cannot know without the org in force
                try:
                    condition = bind(condition, matrix)
                except ExprError:
                    return None
            # every comparison of a field with a number (x > 0 and x <= 50000: both bounds)
            for atom in condition.atoms:
                if isinstance(atom.value, int | float | Decimal) \
                        and not isinstance(atom.value, bool) and atom.name != "decision":
                    bounds.setdefault(atom.name, set()).add((atom.op, Decimal(str(atom.value))))
    fields = {f.id: f for f in flow.fields}
    if len(bounds) != 1:
        return None
    (name, compared), = bounds.items()
    field = fields.get(name)
    if field is None or field.type != "number":
        return None
    if field.integer:  # every bound as "≤ n": x < 5 is x ≤ 4, x ≥ 5 is not x ≤ 4
        limits = sorted({n - 1 if op in ("<", ">=") else n for op, n in compared})
    elif all(op in ("<=", ">") for op, _ in compared):
        limits = sorted(n for _, n in compared)
    else:
        return None  # 金额 < 500 next to 金额 ≤ 3000: no plain way to say the ranges
    ranges: list[tuple[str, Decimal]] = []  # (how the range is said, a value in it)
    for k, limit in enumerate(limits):
        if not k:
            said = f"{field.label} ≤ {limit}"
        elif field.integer:  # whole numbers: 6–30 says exactly what it means
            low = limits[k - 1] + 1
            said = f"{low}–{limit}" if low < limit else f"{limit}"
        else:
            said = f"> {limits[k - 1]} 且 ≤ {limit}"
        ranges.append((said, limit))
    ranges.append((f"> {limits[-1]}", limits[-1] + 1))
    parts: list[str] = []
    before: list[str] | None = None
    for said, value in ranges:
        chain = _approvers(flow, name, value, matrix)
        if chain is None:
            return None
        if before is not None and chain == before:
            shown = "同上"
        elif before and _extends(before, chain):  # after 无需审批, the approvers in full
            added = [who for who in chain if who not in before]
            shown = "".join(f"+{who}" for who in added) or "同上"
        else:
            shown = " → ".join(chain) or "无需审批"
        parts.append(f"{said}：{shown}")
        before = chain
    if all(p.endswith("同上") for p in parts[1:]):
        return None  # the number changes nothing about who approves
    return "；".join(parts)


def _approvers(flow: Flow, name: str, value: Decimal,
               limits: Mapping[str, Mapping[str, Any]] | None = None) -> list[str] | None:
    """Who approves a request with ``name`` = ``value``, every approval given (an approval's
    first decision): each approval's role where the step names one (付款（财务负责人）:
    财务负责人), else its lane. Where an exit's condition reads more than the number (广告审查
    文号 未取得), every way on is walked: if all pass the same approvals, those; else None."""
    steps = {s.id: s for s in flow.steps}
    return _walk(flow, steps, flow.start, name, value, limits or {}, [], set(), 0)


def _walk(flow: Flow, steps: dict[str, Step], current: Step | None, name: str, value: Decimal,
          limits: Mapping, chain: list[str], seen: set[str], depth: int) -> list[str] | None:
    from ..expr import LIMITS, ExprError

    if depth > 8:  # ways on within ways on: too many to say in a sentence
        return None
    while current is not None and not current.is_end and current.id not in seen:
        seen.add(current.id)
        if current.kind == "approval" and current.document is None:
            who = current.role_name or flow.lane(current.lane).name
            # one who approves twice is named with the step the second time
            chain.append(who if who not in chain else f"{who}（{current.text}）")
        if not current.exits:
            current = steps.get(current.next) if current.next else None
            continue
        # an approval is given (its first decision); of a decision's answers the first that
        # does not end the flow (已付款, not 未付款: the request goes on)
        decision = current.decisions[0] if current.decisions else None
        if current.kind == "decision" and current.decisions:
            ends = {e.label for e in current.exits if e.when is None and steps[e.to].is_end}
            decision = next((d for d in current.decisions if d not in ends), decision)
        scope = {name: int(value) if value == int(value) else value, "decision": decision,
                 LIMITS: limits}
        if any(e.when is not None and not e.when.names <= {name, "decision"}
               for e in current.exits):
            # the way on depends on more than the number: every way that goes on
            ways = [_walk(flow, steps, steps[e.to], name, value, limits, list(chain), set(seen),
                          depth + 1) for e in current.exits if not steps[e.to].is_end]
            if not ways or any(w is None or w != ways[0] for w in ways):
                return None
            return ways[0]
        taken = None
        # where no answer is asked for, the first exit that does not end the flow
        onward = sorted(current.exits, key=lambda e: e.when is None and steps[e.to].is_end)
        for e in onward if decision is None else current.exits:
            if e.when is not None:
                try:
                    holds = bool(e.when.evaluate(scope))
                except ExprError:
                    return None
            else:
                holds = e.label == decision or e.label not in current.decisions
            if holds:
                taken = e
                break
        current = steps.get(taken.to) if taken is not None else None
    return chain


def _extends(before: list[str], chain: list[str]) -> bool:
    """Whether ``chain`` is ``before`` with approvers added (in its order)."""
    rest = iter(chain)
    return all(who in rest for who in before)


def _in_words(source: str, labels: dict[str, str]) -> str:
    """A condition as a reader of the form says it: field labels for ids, ≤ ≥ ≠ for <= >= !=.
    A condition on the approver's decision says nothing its label does not: left out."""
    if re.fullmatch(r"\s*decision\s*==\s*'[^']*'\s*", source):
        return ""
    text = source
    for op, word in (("<=", " ≤ "), (">=", " ≥ "), ("!=", " ≠ "), ("==", " = "),
                     (" and ", " 且 "), (" or ", " 或 "), ("not ", "非 ")):
        text = text.replace(op, word)
    text = re.sub(r"(?<![\w.])([A-Za-z_]\w*)(?![\w(])",
                  lambda m: labels.get(m.group(1), m.group(1)), text)
    return re.sub(r"\s+", " ", text.replace("'", "")).strip()


def _section_title(c: _Cursor, title: str) -> None:
    c.need(40)
    c.page.texts.append(Text(MARGIN, c.y - 14, title, 11))
    c.y -= 22


def label_lines(label: str, width: float, size: float) -> list[str]:
    """A field's label in lines of ``width``, broken before a bracketed phrase (its unit,
    （自动计算）) rather than inside one: 权重合计（%）/（自动计算）, never 权重合计（%）（自动/
    计算）. A phrase wider than a line is wrapped on its own."""
    phrases = [p for p in re.split(r"(?=（)", label) if p]
    lines: list[str] = []
    for phrase in phrases:
        if lines and fonts.text_width(lines[-1] + phrase, size) <= width:
            lines[-1] += phrase
        elif fonts.text_width(phrase, size) <= width:
            lines.append(phrase)
        else:
            lines += wrap(phrase, width, size, fonts.text_width)
    return lines or [""]


def _label_row(c: _Cursor, lines: list[str], h: float, width: float) -> None:
    c.page.boxes.append(Box(MARGIN, c.y - h, width, h))
    c.page.boxes.append(Box(MARGIN, c.y - h, LABEL_W, h, "#eef1f5"))
    top = c.y - (h - len(lines) * LABEL_LEADING) / 2
    for i, line in enumerate(lines):
        c.page.texts.append(Text(MARGIN + 4, top - 10 - i * LABEL_LEADING, line, 9.5))


def _table(c: _Cursor, f, label: str, width: float) -> None:
    cols = f.columns
    head = ROW_H
    c.need(head + TABLE_ROW_H * min(f.rows, 3) + 4)
    c.page.texts.append(Text(MARGIN + 4, c.y - 14, label, 9.5))
    c.y -= 20
    widths = column_widths(cols, width - 24)
    lefts = [MARGIN + 24 + sum(widths[:j]) for j in range(len(cols))]
    c.page.boxes.append(Box(MARGIN, c.y - head, width, head, "#eef1f5"))
    c.page.texts.append(Text(MARGIN + 12, c.y - 14, "序", 9, "center"))
    for j, col in enumerate(cols):
        x, col_w = lefts[j], widths[j]
        c.page.texts.append(Text(x + col_w / 2, c.y - 14, col.label + (f"（{col.unit}）" if col.unit else ""),
                                 9, "center"))
        c.page.boxes.append(Box(x, c.y - head, col_w, head))
    c.y -= head
    for row in range(1, f.rows + 1):
        c.need(TABLE_ROW_H)
        c.page.boxes.append(Box(MARGIN, c.y - TABLE_ROW_H, 24, TABLE_ROW_H))
        c.page.texts.append(Text(MARGIN + 12, c.y - 13, str(row), 9, "center"))
        for j, col in enumerate(cols):
            x, col_w = lefts[j], widths[j]
            c.page.boxes.append(Box(x, c.y - TABLE_ROW_H, col_w, TABLE_ROW_H))
            c.page.fields.append(FieldSpec(f"fields.{f.id}.{row}.{col.id}", "text", x + 2,
                                           c.y - TABLE_ROW_H + 2, col_w - 4, TABLE_ROW_H - 4,
                                           f"{f.label}第{row}行{col.label}"))
        c.y -= TABLE_ROW_H
    c.y -= 6


# how much a value of each column type needs, against its heading: a number or a date is
# short, free text takes what is left
COLUMN_NEEDS = {"number": 56.0, "integer": 48.0, "date": 72.0, "bool": 40.0}


def column_widths(cols, total: float) -> list[float]:
    """Columns sized to their content: each as wide as its heading or the values of its type
    need, free-text columns sharing the rest."""
    heads = [fonts.text_width(col.label + (f"（{col.unit}）" if col.unit else ""), 9) + 10
             for col in cols]
    fixed = {j: max(heads[j], COLUMN_NEEDS[col.type]) for j, col in enumerate(cols)
             if col.type in COLUMN_NEEDS}
    free = [j for j in range(len(cols)) if j not in fixed]
    rest = total - sum(fixed.values())
    if not free or rest < sum(heads[j] for j in free):
        return [total * h / sum(heads) for h in heads]  # too narrow for that: by headings
    extra = rest - sum(heads[j] for j in free)
    share = extra / len(free)
    return [fixed[j] if j in fixed else heads[j] + share for j in range(len(cols))]
