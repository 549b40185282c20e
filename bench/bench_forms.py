"""Form timings (targets: all 24 forms <= 1.5 s wall; reading and checking one filled form
<= 50 ms).

    python bench/bench_forms.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.checks import check_paths  # noqa: E402
from generator.forms import make_form  # noqa: E402
from generator.forms.filled import fill_form, read_form  # noqa: E402
from generator.records import check_record  # noqa: E402


def main() -> None:
    library = check_paths([ROOT / "flows"], base=ROOT).library
    templates = ROOT / "templates"
    make_form(library.flows[0], templates)  # font data and templates loaded once, as in a build
    started = time.perf_counter()
    forms = {f.code: make_form(f, templates) for f in library.flows}
    total = time.perf_counter() - started
    print(f"all {len(forms)} forms, one process: {total:.2f} s "
          f"({sum(map(len, forms.values())) / 2**20:.1f} MiB)")
    flows = {f.code: f for f in library.flows}
    filled = fill_form(forms["EC-HR-015"], {
        "fields.leave_type": "病假", "fields.start": "2026-11-02", "fields.end": "2026-11-11",
        "fields.reason": "感冒发烧，医生建议休息（附医院证明）", "fields.handover": "孙磊"})
    times = []
    for _ in range(20):
        started = time.perf_counter()
        record = read_form(filled, "filled.pdf", flows)
        result = check_record(flows[record.flow], library.org, record)
        times.append(time.perf_counter() - started)
        assert result.ok
    print(f"read + check one filled form: best {min(times) * 1000:.1f} ms, "
          f"median {statistics.median(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
