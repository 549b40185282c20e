"""Golden structure of every bundled chart: orientation, pages, and where each step is drawn.

A change to the layout that moves a box shows up here as a readable diff. After a deliberate
change, look at the charts, then rewrite the golden file:

    FLOWDOC_UPDATE_GOLDEN=1 python -m pytest tests/test_diagram_golden.py
"""

from __future__ import annotations

import json
import os

import pytest
from conftest import ROOT, bundled_library

from generator.diagram import layout

GOLDEN = ROOT / "tests/data/chart_structure.json"
LIBRARY = bundled_library()  # collected once per flow: the session's checked library


def structure(flow) -> dict:
    chart = layout(flow)
    steps = {}
    for page in chart.pages:
        lanes = {lane.id: lane.column for lane in page.lanes}
        for shape in page.shapes:
            if shape.kind == "connector":
                continue
            column = lanes[shape.lane]
            assert column.x <= shape.rect.x and shape.rect.right <= column.right
            steps[shape.step_id] = {"page": page.number, "row": shape.row, "lane": shape.lane,
                                    "kind": shape.kind}
    return {"orientation": chart.orientation, "pages": len(chart.pages),
            "shapes": sum(1 for p in chart.pages for s in p.shapes if s.kind != "connector"),
            "steps": steps}


def test_golden_structure():
    got = {flow.code: structure(flow) for flow in LIBRARY.flows}
    if os.environ.get("FLOWDOC_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                          encoding="utf-8")
        pytest.skip("golden file rewritten")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(got) == sorted(want)
    for code in want:
        assert got[code] == want[code], code


@pytest.mark.parametrize("flow", LIBRARY.flows, ids=lambda f: f.code)
def test_one_shape_per_step_in_its_own_lane(flow):
    s = structure(flow)
    assert s["shapes"] == len(flow.steps)
    assert {k: v["lane"] for k, v in s["steps"].items()} == {st.id: st.lane for st in flow.steps}
