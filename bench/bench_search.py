"""Search timings for both backends, side by side (targets: Whoosh at 100k records: query p50
<= 50 ms, p95 <= 300 ms, incremental add of one record <= 20 ms median, rebuild >= 400
records/s; tantivy at 1M records: p95 <= 15 ms, rebuild >= 7,500 records/s).

    python bench/bench_search.py [--whoosh 100000] [--tantivy 1000000] [--seed 1]

The corpus is generated deterministically (same seed, same records): synthetic record states
of four flows with Chinese free text, names, order and waybill numbers, and signatures. They go
through the same document builder and backends as archived records; only the signing is left
out, which the archive bench measures. Each query asks for the top 20 by date and the total.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.archive.events import RecordState  # noqa: E402
from generator.checks import check_paths  # noqa: E402
from generator.search.documents import record_document  # noqa: E402
from generator.search.index import open_backend  # noqa: E402
from generator.search.query import parse  # noqa: E402

_WORDS = ("感冒 发烧 医生 建议 休息 家里 有事 孩子 生病 住院 陪同 家人 看病 身体 不适 复查 婚礼 搬家 "
         "收到 商品 外壳 破损 物流 配送 延误 质量 问题 屏幕 划痕 客服 态度 发错货 规格 不符 价格 "
         "争议 退差价 快递 丢件 包装 完好 退货 换货 退款 补发 优惠券 赔偿 保健 食品 器械 日用品 "
         "订单 库存 入库 出库 盘点 仓库 调拨 上架 促销 活动 推广 渠道 天猫 京东 商城 微信 直播 "
         "培训 考核 绩效 试用期 转正 加班 调休 年假 事假 病假 婚假 不同意 同意 调整 驳回 审批")
WORDS = _WORDS.split()
_NAMES = ("赵敏 李强 张伟 尹红梅 王芳 刘洋 孙磊 周婷 吴刚 郑丽 冯涛 何军 陈静 欧阳修远 司马青 "
         "黄小明 林秀英 马晓东 罗敏 高峰")
NAMES = _NAMES.split()
FLOWS = (("EC-HR-015", "head_approve", "hr_approve"), ("EC-CS-021", "manager_review", "director_review"),
         ("EC-CS-023", "review", "approve"), ("EC-OP-010", "review", "approve"))
QUERIES = ["病", "梅", "假", "病假", "破损", "不同意", "尹红梅", "质量问题", "物流配送延误", "感冒 发烧",
           "张伟 审批", "退货 OR 换货", "李强 -同意", "iphone", "status:complete 破损", "flow:EC-HR-015 病假",
           "signer:张伟 created:2026-03..2026-04", "id:TB2026000*", "dept:客服部 退款", "(病假 OR 事假) 李强",
           "商品 质量", "欧阳修远", "直播 推广", "decision:不同意", "signed:2026-06-01..2026-06-30"]


def state(i: int, seed: int) -> RecordState:
    rng = random.Random(seed * 10_000_019 + i)
    code, step1, step2 = FLOWS[i % len(FLOWS)]
    day = f"2026-{1 + i * 11 // 1000 % 12:02d}-{1 + i % 28:02d}"
    text = "".join(rng.choice(WORDS) for _ in range(rng.randrange(4, 14)))
    if rng.random() < 0.05:
        text += " iPhone"
    applicant = rng.choice(NAMES)
    signatures = [{"applicant": applicant, "meaning": "编制", "time": f"{day}T09:00:00Z", "step": "apply"}]
    status = "in progress"
    for step in (step1, step2)[:rng.randrange(3)]:
        decision = rng.choice(["同意", "同意", "不同意"])
        signatures.append({"person": rng.choice(NAMES), "meaning": "审批", "step": step,
                           "decision": decision, "comment": rng.choice(["", "请尽快处理", "人手紧张"]),
                           "time": f"{day}T15:00:00Z"})
        status = "rejected" if decision == "不同意" else "complete"
        if decision == "不同意":
            break
    fields = {"order_no": f"TB2026{rng.randrange(10**7):07d}",
              "waybill_no": f"SF{rng.randrange(10**10):010d}",
              "description": text, "customer": rng.choice(NAMES)}
    s = RecordState(f"{code}-2026-{i:07d}", code, "A/0", "", "", "", fields, applicant, f"{day}T09:00:00Z",
                    signatures=signatures, history=[{"type": "submit", "seq": i}], status=status)
    return s


_LIB = None


def _documents(args: tuple[int, int, int]) -> list[dict]:
    global _LIB
    if _LIB is None:
        _LIB = check_paths([ROOT / "flows"], base=ROOT).library
    start, stop, seed = args
    flows = {f.code: f for f in _LIB.flows}
    return [record_document(s, flows[s.flow_code], _LIB.org, [i]) for i in range(start, stop)
            if (s := state(i, seed))]


def documents(n: int, seed: int, start: int = 0, chunk: int = 5000):
    """Documents built on both cores, in order, ``chunk`` at a time."""
    jobs = [(a, min(a + chunk, start + n), seed) for a in range(start, start + n, chunk)]
    with ProcessPoolExecutor(2) as pool:
        yield from pool.map(_documents, jobs)


def bench(name: str, n: int, seed: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    try:
        backend = open_backend(name, folder / "ix")
        started = time.perf_counter()
        batch: list[dict] = []
        first = True
        for docs in documents(n, seed):
            batch += docs
            if len(batch) >= (n if name == "whoosh" else 100_000):
                backend.write(batch, {"seq": 0}, fresh=first)
                first, batch = False, []
        if batch:
            backend.write(batch, {"seq": 0}, fresh=first)
        build = time.perf_counter() - started
        print(f"{name}: {n:,} records built in {build:.1f} s = {n / build:,.0f} records/s", flush=True)
        backend.close()
        backend = open_backend(name, folder / "ix")
        times, totals = [], {}
        for _ in range(3):
            for q in QUERIES:
                tree = parse(q)
                t0 = time.perf_counter()
                total, _ = backend.search(tree, 20, 0, True)
                times.append(time.perf_counter() - t0)
                totals[q] = total
        print(f"{name}: query p50 {statistics.median(times) * 1000:.1f} ms, "
              f"p95 {statistics.quantiles(times, n=20)[18] * 1000:.1f} ms", flush=True)
        adds = []
        extra = [d for docs in documents(30, seed, start=n, chunk=30) for d in docs]
        for d in extra:
            t0 = time.perf_counter()
            backend.write([d], {"seq": 0})
            adds.append(time.perf_counter() - t0)
        backend.close()
        size = sum(f.stat().st_size for f in (folder / "ix").rglob("*") if f.is_file())
        return {"n": n, "build_s": build, "rate": n / build, "p50": statistics.median(times) * 1000,
                "p95": statistics.quantiles(times, n=20)[18] * 1000, "max": max(times) * 1000,
                "add_median": statistics.median(adds) * 1000, "add_max": max(adds) * 1000,
                "size_mb": size / 2**20, "totals": totals}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def archive_increment(name: str, records: int, adds: int = 20) -> tuple[float, float, float]:
    """The whole path as a user meets it, on a real signed archive of ``records`` records:
    ``flowdoc search --reindex`` (records/s), then one record submitted at a time and the next
    search catching the index up (median and max ms)."""
    import datetime as dt

    from generator.archive import events as R
    from generator.archive.store import Archive
    from generator.records import RecordInput
    from generator.search import RecordIndex

    library = check_paths([ROOT / "flows"], base=ROOT).library
    t0 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    folder = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    try:
        archive = Archive(folder / "records")
        R.new_person_key(archive, library, "赵敏", "bench-passphrase")

        def leave(i: int) -> RecordInput:
            return RecordInput("EC-HR-015", {"leave_type": "病假", "start": "2026-11-02",
                                             "end": "2026-11-03", "reason": f"感冒发烧第{i}次"}, "x")
        for start in range(0, records, 2000):
            R.import_records(archive, library, [(leave(i), b"x") for i in range(start, min(
                start + 2000, records))], "赵敏", "bench-passphrase", t0)
        index = RecordIndex(archive, library, name)
        started = time.perf_counter()
        index.reindex()
        rate = records / (time.perf_counter() - started)
        times = []
        for i in range(adds):
            R.submit(archive, library, leave(records + i), b"x", "赵敏", "bench-passphrase", t0)
            started = time.perf_counter()
            index.catch_up()
            times.append(time.perf_counter() - started)
        return rate, statistics.median(times) * 1000, max(times) * 1000
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--whoosh", type=int, default=100_000)
    parser.add_argument("--tantivy", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--archive-records", type=int, default=20_000,
                        help="size of the real signed archive for --reindex and catch-up timings")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; corpus seed {args.seed}; {len(QUERIES)} queries x 3, "
          "top 20 by date + total")
    results = {}
    for name, n in (("whoosh", args.whoosh), ("tantivy", args.tantivy)):
        if n:
            results[name] = bench(name, n, args.seed)
            r = results[name]
            r["reindex"], r["catch_up_median"], r["catch_up_max"] = archive_increment(
                name, args.archive_records)
            print(f"{name}: index {r['size_mb']:.0f} MiB", flush=True)
    print()
    print(f"{'':28}" + "".join(f"{name:>16}" for name in results))
    rows = [("records", "n", "{:,.0f}"), ("rebuild records/s", "rate", "{:,.0f}"),
            ("query p50 ms", "p50", "{:.1f}"), ("query p95 ms", "p95", "{:.1f}"),
            ("query max ms", "max", "{:.1f}"), ("add one record, median ms", "add_median", "{:.1f}"),
            ("add one record, max ms", "add_max", "{:.1f}"),
            ("reindex a real archive, rec/s", "reindex", "{:,.0f}"),
            ("archive → index, median ms", "catch_up_median", "{:.1f}"),
            ("archive → index, max ms", "catch_up_max", "{:.1f}"), ("index MiB", "size_mb", "{:.0f}")]
    for label, key, fmt in rows:
        print(f"{label:28}" + "".join(f"{fmt.format(r[key]):>16}" for r in results.values()))
    if len(results) == 2 and args.whoosh == args.tantivy:
        a, b = (r["totals"] for r in results.values())
        print("same totals for every query on both backends:", a == b)


if __name__ == "__main__":
    main()
