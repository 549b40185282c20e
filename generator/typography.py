"""Chinese line breaking (禁则) and balanced wrapping, shared by every writer.

Chinese text breaks between any two characters, except that some punctuation may not start a
line (，。、；：？！）》」』】 …) and some may not end one (（《「『【 …); Latin words and numbers
stay whole. Box texts on a chart are also *balanced*: a three-character last line under two
full lines looks like an error, so we find the narrowest width that needs no more lines than
the greedy fill, which spreads the text evenly and never leaves one character alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

NO_LINE_START = frozenset("，。、；：？！）》」』】〕〗〙〛﹚﹜﹞!),.:;?]}%·～…—‐-、”’〉｝］＞")
NO_LINE_END = frozenset("（《「『【〔〖〘〚﹙﹛﹝([{“‘〈｛［＜")

Measure = Callable[[str, float], float]
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.@_%+\-/]*|\s+|.", re.S)


def tokens(text: str) -> list[str]:
    """Unbreakable units: a CJK character, a Latin word or number, a run of spaces."""
    return _TOKEN.findall(text)


def _fits(units: list[str], width: float, size: float, measure: Measure) -> bool:
    return measure("".join(units), size) <= width + 1e-6


def wrap(text: str, width: float, size: float, measure: Measure) -> list[str]:
    """Greedy fill with 禁则; a unit wider than ``width`` is broken by character."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_wrap_paragraph(paragraph, width, size, measure))
    return lines


def _wrap_paragraph(text: str, width: float, size: float, measure: Measure) -> list[str]:
    units: list[str] = []
    for unit in tokens(text):
        if len(unit) > 1 and not unit.isspace() and measure(unit, size) > width:
            units.extend(unit)  # a word longer than the box: break it anywhere
        else:
            units.append(unit)
    # A measure that says how it adds up (``measure.em``: a text's width in integer units of
    # 1/1000 em, the sum of its parts') keeps the line's sum as it grows, instead of measuring
    # the whole line again with every unit (the same widths, bit for bit: the sum is exact).
    em = getattr(measure, "em", None)
    line_em = 0

    def fits(unit: str) -> bool:
        if em is None:
            return _fits([*line, unit], width, size, measure)
        return (line_em + em(unit)) * size / 1000 <= width + 1e-6

    lines: list[list[str]] = []
    line: list[str] = []
    for unit in units:
        if not line and unit.isspace():
            continue
        if not line or fits(unit):
            line.append(unit)
            if em is not None:
                line_em += em(unit)
            continue
        # `unit` must open the next line. While that line would start with a mark that may
        # not start one, or this line ends with a mark that may not end one, carry the last
        # unit of this line over (oidashi); if nothing is left to carry, overflow instead.
        following = [unit]
        while (following[0][0] in NO_LINE_START or line[-1][-1] in NO_LINE_END) and len(line) > 1:
            following.insert(0, line.pop())
        if following[0][0] in NO_LINE_START or line[-1][-1] in NO_LINE_END:
            line.extend(following)
        else:
            lines.append(line)
            line = following
        if em is not None:
            line_em = sum(em(u) for u in line)
    if line:
        lines.append(line)
    return ["".join(x).strip() for x in lines] or [""]


def balanced_wrap(text: str, width: float, size: float, measure: Measure) -> list[str]:
    """As few lines as :func:`wrap` needs at ``width``, as even in length as possible."""
    greedy = wrap(text, width, size, measure)
    if len(greedy) <= 1:
        return greedy
    low = max(measure(t, size) for t in tokens(text) if not t.isspace())
    low = max(low, measure(text.replace("\n", ""), size) / len(greedy) - 1)
    high = width
    best = greedy
    for _ in range(24):
        if high - low < 0.25:
            break
        mid = (low + high) / 2
        trial = wrap(text, mid, size, measure)
        if len(trial) <= len(greedy):
            best, high = trial, mid
        else:
            low = mid
    return _no_orphan(best)


def _no_orphan(lines: list[str]) -> list[str]:
    """Pull characters down from the line above while the last line is a single character.

    Kinsoku can leave the narrowest even width unable to fill the last line; moving a unit
    down keeps every line within the width (the line above only gets shorter).
    """
    lines = list(lines)
    while len(lines) > 1 and len(lines[-1]) == 1 and len(lines[-2]) >= 3:
        units = tokens(lines[-2])
        trial = [*lines[:-2], "".join(units[:-1]), units[-1] + lines[-1]]
        if not breaks_are_legal(trial):
            break
        lines = trial
    return lines


def breaks_are_legal(lines: list[str]) -> bool:
    """No line but the first starts with a closing mark; none but the last ends with an opening one."""
    last = len(lines) - 1
    return not any(
        (i > 0 and line[:1] in NO_LINE_START) or (i < last and line[-1:] in NO_LINE_END)
        for i, line in enumerate(lines) if line
    )
