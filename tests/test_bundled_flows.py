"""The bundled manual: all 24 charts present, clean, and faithful to the source."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
import yaml
from conftest import ROOT

SOURCE = yaml.safe_load((ROOT / "tests/data/source_boxes.yaml").read_text(encoding="utf-8"))
RECONSTRUCTED = {"EC-OP-005", "EC-OP-010", "EC-FN-011", "EC-WH-012", "EC-OP-013", "EC-FN-017",
                 "EC-CS-021", "EC-MK-022", "EC-CS-023"}
_FULL = str.maketrans({",": "，", "(": "（", ")": "）", ":": "：", ";": "；"})


def norm(text: str) -> str:
    """Compare texts independent of half- or full-width punctuation."""
    return text.translate(_FULL).replace(" ", "")


def test_check_passes_on_the_bundled_flows_as_a_real_process():
    proc = subprocess.run([sys.executable, "-m", "generator", "check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "24 flow file(s) checked, no problems" in proc.stdout


def test_twenty_four_charts_in_manual_order(library):
    codes = [f.code for f in library.flows]
    assert len(codes) == 24 == len(set(codes))
    numbers = [int(c.split("-")[2]) for c in codes]
    assert numbers == sorted(numbers)
    assert sorted(Counter(numbers).values())[-1] == 2  # flow 6 alone has two charts
    assert [f.code for f in library.flows if f.code.startswith("EC-WH-006")] == [
        "EC-WH-006-1", "EC-WH-006-2"]
    assert library.org is not None and library.manual is not None
    assert library.manual.preface


def test_reconstructed_flows_are_drafts_of_realistic_size(library):
    got = {f.code for f in library.flows if f.provenance == "reconstructed"}
    assert got == RECONSTRUCTED
    for flow in library.flows:
        if flow.code in RECONSTRUCTED:
            assert flow.status == "草稿", flow.code
            assert 8 <= len(flow.steps) <= 20, (flow.code, len(flow.steps))
            assert any(s.kind in ("approval", "decision") and len(s.exits) >= 2
                       for s in flow.steps), flow.code
        else:
            assert flow.status == "受控" and flow.signoff.complete, flow.code


@pytest.mark.parametrize("code", sorted(k for k in SOURCE if k.startswith("EC-")))
def test_every_box_the_source_kept_is_a_step(library, code):
    flow = library.flow(code)
    unused = [norm(s.text) for s in flow.steps]
    missing = []
    for box in SOURCE[code]:
        match = next((t for t in unused if t == norm(box)), None) or next(
            (t for t in unused if norm(box) in t), None)
        if match is None:
            missing.append(box)
        else:
            unused.remove(match)
    assert not missing, f"{code}: boxes of the source not in the flow: {missing}"


@pytest.mark.parametrize("code", sorted(SOURCE["labels"]))
def test_decision_labels_of_the_source_are_exit_labels(library, code):
    labels = {e.label for s in library.flow(code).steps for e in s.exits}
    assert set(SOURCE["labels"][code]) <= labels


@pytest.mark.parametrize("code", sorted(SOURCE["lanes"]))
def test_lanes_in_the_source_order(library, code):
    assert [norm(lane.name) for lane in library.flow(code).lanes] == [
        norm(n) for n in SOURCE["lanes"][code]]


def test_loops_back_are_edges_to_earlier_steps(library):
    def has_back_edge(flow, text):
        order = {s.id: i for i, s in enumerate(flow.steps)}
        step = next(s for s in flow.steps if s.text == text)
        return any(order[t] < order[step.id] for t in step.successors)

    assert has_back_edge(library.flow("EC-HR-004"), "修正方案再培训")
    assert has_back_edge(library.flow("EC-HR-009"), "修正方案")
    reward = library.flow("EC-HR-019")
    order = {s.id: i for i, s in enumerate(reward.steps)}
    back = [(s.id, e.to) for s in reward.steps for e in s.exits if e.label == "不同意或调整"]
    assert len(back) == 3 and all(order[to] < order[frm] for frm, to in back)


def test_off_page_references_say_where_they_point(library):
    refs = {s.text: s.ref for f in library.flows for s in f.steps if s.kind == "ref"}
    assert refs["试用员工转正流程"].flow == "EC-HR-007"
    for external in ("外部招聘流程", "内部招聘流程", "员工辞退流程", "考勤管理流程", "工资发放流程"):
        assert refs[external].external == external


def test_every_flow_records_fields_and_every_lane_role_has_two_signers(library):
    org = library.org
    for flow in library.flows:
        assert len(flow.fields) >= 3, flow.code
        for lane in flow.lanes:
            role = org.role(lane.role)
            # a sole role (总经理) is one person by design, not padded with a second holder
            assert role.anyone or len(org.holders(lane.role)) >= 2 or (
                role.sole and len(org.holders(lane.role)) == 1), (flow.code, lane.id)


def test_source_copy_errors_are_corrected_and_recorded(library):
    onboarding = library.flow("EC-HR-003")
    step = next(s for s in onboarding.steps if s.source_text)
    assert step.source_text == "新员工3-7天培训训" and step.text == "新员工3-7天培训"
    names = {f.code: f.name for f in library.flows}
    assert names["EC-MK-022"] == "新产品网络营销框架示意流程"  # the source's header repeats 21's
    warehouse = library.flow("EC-WH-012")
    assert "加班员工" not in {lane.name for lane in warehouse.lanes}  # lanes copied from chart 14
