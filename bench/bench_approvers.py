"""How long resolving a step's approvers takes: it runs for every signature verify replays
and for every row of a web inbox.

    python bench/bench_approvers.py [--people 2000] [--departments 200] [--rounds 5]

Builds an org of PEOPLE people in DEPARTMENTS departments (a tree four to six levels deep,
each department with a head and most with a 分管领导), then times
``records.authority.signers`` for the leave flow's head and director steps and a role step,
for applicants drawn from every department. Prints µs per resolution (best of the rounds)
with a reference loop's time, since this machine's speed varies with its load.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.model import Department, Org, Origin, Person, Role  # noqa: E402
from generator.records.authority import signers  # noqa: E402


def reference() -> float:
    t = time.perf_counter()
    sum(range(10**7))
    return time.perf_counter() - t


def make_org(people: int, departments: int, rng: random.Random) -> Org:
    names = [f"员工{i:05d}" for i in range(people)]
    depts = []
    for i in range(departments):
        parent = None if i == 0 else f"d{rng.randrange(max(1, i // 3), i) if i > 3 else 0}"
        depts.append((f"d{i}", parent))
    homes = [f"d{rng.randrange(departments)}" for _ in names]
    staff: dict[str, list[str]] = {}
    for name, home in zip(names, homes, strict=True):
        staff.setdefault(home, []).append(name)
    out = []
    for did, parent in depts:
        members = staff.get(did) or [rng.choice(names)]
        out.append(Department(did, f"部门{did}", parent, members[0],
                              rng.choice(names) if rng.random() < 0.7 else None))
    roles = (Role("employee", "员工", anyone=True), Role("head", "部门负责人"),
             Role("director", "分管总监"), Role("gm", "总经理"), Role("hr", "人力资源部"))
    persons = tuple(Person(n, h, "员工", ("hr",) if i % 50 == 0 else ())
                    for i, (n, h) in enumerate(zip(names, homes, strict=True)))
    return Org("公司", "部门", roles, persons, Origin("org.yaml"), departments=tuple(out))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--departments", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=20000, help="resolutions a round")
    args = parser.parse_args()

    from generator.checks import check_paths

    flow = check_paths([ROOT / "flows"], base=ROOT).library.flow("EC-HR-015")
    rng = random.Random(15)
    org = make_org(args.people, args.departments, rng)
    applicants = [p.name for p in rng.sample(org.people, min(500, len(org.people)))]
    depth = max(len(org.chain(org.person(a).department)) for a in applicants)
    print(f"org: {args.people} people, {args.departments} departments, tree depth ≤ {depth}")
    print(f"reference loop: {reference() * 1000:.0f} ms")
    for step in ("head_approve", "director_approve", "hr_approve"):
        best = float("inf")
        for _ in range(args.rounds):
            t = time.perf_counter()
            for i in range(args.n):
                signers(flow, org, step, applicants[i % len(applicants)])
            best = min(best, time.perf_counter() - t)
        print(f"{step:17} {best / args.n * 1e6:6.1f} µs a resolution")


if __name__ == "__main__":
    main()
