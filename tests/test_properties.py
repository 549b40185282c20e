"""Property: however a valid flow file is damaged, checking it yields located problems only."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.checks import check_paths
from generator.yamlsource import parse_yaml

VALID_TEXT = (ROOT / "tests/broken/_valid.yaml.txt").read_text(encoding="utf-8")
VALID = parse_yaml(VALID_TEXT.encode(), "valid").data  # keys as written (`on`, not True)


def paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += paths(value, (*prefix, i))
    return out


ALL_PATHS = [p for p in paths(VALID) if p]
junk = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
    st.text(max_size=12), st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.sampled_from(["fill", "head_approve", "ceo", "gm", "().__class__", "days >", "受控", "EC-HR-015"]),
)


def get_parent(data: Any, path: tuple) -> tuple[Any, Any]:
    for part in path[:-1]:
        data = data[part]
    return data, path[-1]


def _safe_dump(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False)


_PIECES: dict[str, str] = {}  # repr of a piece -> its YAML


def _piece(value: Any) -> str:
    """``_safe_dump(value)``, remembered by ``repr(value)``: repr tells apart every value
    the dump tells apart (True from 1 from 1.0, a str from a number, key order)."""
    key = repr(value)
    if key not in _PIECES:
        _PIECES[key] = _safe_dump(value)
    return _PIECES[key]


def _dump(data: Any) -> str:
    """``yaml.safe_dump(data, allow_unicode=True, sort_keys=False)``, made of remembered
    pieces: a top-level member at a time, a list member an item at a time, so a damaged
    flow re-emits only what its damage touched (PyYAML's pure-Python emitter spent two thirds
    of this test writing the same steps again). Equal to the whole dump: test below."""
    if not isinstance(data, dict) or not data:
        return _safe_dump(data)
    out = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            head = _piece({key: [0]})
            assert head.endswith("\n- 0\n"), head
            out.append(head[:-len("- 0\n")])
            out += [_piece([item]) for item in value]
        else:
            out.append(_piece({key: value}))
    return "".join(out)


@st.composite
def mutated(draw) -> Any:
    data = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        try:
            parent, key = get_parent(data, path)
            parent[key]  # the path may be gone after an earlier mutation
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, dict | list):
            continue  # an earlier mutation put a scalar where a mapping was
        action = draw(st.sampled_from(["delete", "replace", "rename"]))
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(junk)
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["lnae", "id", "next", "exits", "when", "kind"]))] = parent.pop(key)
    return data


@st.composite
def damaged(draw) -> bytes:
    text = _dump(draw(mutated())).encode("utf-8")
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]  # a cut file
    if draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.binary(min_size=1, max_size=4)) + text[at:]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damage_gives_located_problems_never_an_exception(raw: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        flows = Path(tmp) / "flows"
        flows.mkdir()
        shutil.copy(ROOT / "tests/broken/org.yaml", flows / "org.yaml")
        (flows / "damaged.yaml").write_bytes(raw)
        result = check_paths([flows / "damaged.yaml"], base=Path(tmp))
    for problem in result.problems:
        assert problem.file == "flows/damaged.yaml"
        assert problem.line >= 0
        assert "\n" not in str(problem) and problem.message


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_the_pieced_dump_is_the_whole_dump(data):
    """What test_damage_gives… checks is what yaml.safe_dump writes of each damaged flow."""
    assert _dump(VALID) == _safe_dump(VALID)
    assert _dump(data) == _safe_dump(data)
