"""Breaking a chart box's text where a reader would: at punctuation, before a joining word,
between words, and only then inside one.

Chinese has no spaces, so :func:`generator.typography.balanced_wrap` breaks wherever the lines
come out even: 编制营/销预算, 培训需/求调查. A box's text is a short phrase, so every way of
setting it in as few lines as the width allows is tried and the one that breaks best is kept:
after a punctuation mark (，、；：), before 并 及 与 和 或 (they open a phrase), between two
words of the process vocabulary below, at the edge of one; inside one only when nothing else
fits. 禁则 holds throughout: no line starts with ，。、；：）》 and the like, none ends with （《.

The vocabulary is a fixed list of the words such manuals are written in (business, HR,
finance, logistics, e-commerce), so the chart of a flow depends on that flow alone.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from ..typography import NO_LINE_END, NO_LINE_START, tokens, wrap

Measure = Callable[[str, float], float]

# words a line should not be broken inside (two to five characters)
_VOCABULARY = """
审核 审批 审议 审查 签批 签发 复核 核对 核实 核算 核数 考核 考评 考察 评审 评估 检验 检查
测算 决策 批准 同意 确认 提出 提交 提请 提供 呈报 汇总 整理 编制 编写 制定 拟定 确定 调整
修正 修改 填写 登记 办理 处理 执行 实施 落实 配合 协调 协商 沟通 联系 通知 答复 反馈 对接
跟踪 下达 下发 上传 回传 下载 导出 打印 扫描 输入 录入 包装 封箱 发货 配货 拣货 入库 出库
上架 下架 上线 存档 归档 备案 建档 记录 记账 入账 付款 收款 退款 赔付 回款 到账 结算 对账
申请 申请表 申请单 请假 请假条 加班 试用 试用期 转正 辞退 任命 晋升 招聘 培训 考试 奖励 奖金
工资 薪酬 绩效 指标 方法 制度 原则 措施 方案 计划 报告 总结 预算 草案 大纲 内容 需求 意见
限额 权限 资料 图片 素材 页面 卖点 明细 明细表 单据 单号 面单 凭证 合同 协议 名单 事由 职位
职务 岗位 岗前 说明书 工作 工作量 任职 资格 人员 员工 新员工 部门 总部 公司 经理 主管 助理
总监 总经理 副总 负责人 办公会议 财务 行政 人力资源 后勤 电子商务 电商 运营 客服 售后 客户
顾客 投诉 商品 产品 新品 品名 成品 残品 破损 货品 货款 订单 订单号 渠道 平台 商城 网点 网银
银行 账户 操作员 密码 信封 物流 快递 承运商 合作商 第三方 仓储 仓库 库存 价格 差异 异常 缺货
补货 换货 退换 退换货 退回 寄回 查件 索赔 推广 营销 网络 市场 调研 竞品 分析 数据 策略 组合
管理 流程 细节 体系 系统 信息 地址 地点 收货 发放 当日 当期 每日 月度 日常 整体 具体 各级
相关 合规 合格 正式 后台 前台 展示 维护 激活 分发 签收 签字 双方 交接 机构 仲裁 劳动 教材
教具 师资 场所 时间 进程 结果 原因 问题 分类 上岗 文化 介绍 验证 登录 是否 超过 以内 以上
以下 除外 之外 当前 批次 作业 期限 幅度 降价 调价 结案 工单 原路 超时 未付款 已付款 收入 支付 事项
"""
WORDS = frozenset(_VOCABULARY.split())

JOINERS = frozenset("并及与和或且")  # a break before one of these opens a phrase
AFTER_MARKS = frozenset("，、；：。！？）》」』】")  # a break after one of these is free


INSIDE = 6.0  # the cost of a break inside a known word


@lru_cache(maxsize=8192)
def phrase_wrap(text: str, width: float, size: float, measure: Measure) -> tuple[str, ...]:
    """``text`` in as few lines as fit ``width`` (as :func:`wrap` needs), broken where it
    reads best, lines kept even where that costs nothing."""
    greedy = wrap(text, width, size, measure)
    units = [u for u in tokens(text.replace("\n", "")) if u]
    if len(greedy) <= 1 or len(units) > 60:
        return tuple(greedy)
    cost = _break_costs(units)
    found = _best(units, len(greedy), cost, width, size, measure)
    if found is None:
        return tuple(greedy)
    if any(cost[k] >= INSIDE for k in found[1]):
        # no way of setting it in as few lines breaks between words: a line more, where that
        # spares every word (培训 in 制定整体电商/培训计划/内容大纲, not 培/训). Only a text
        # that would break inside a word grows: one box on the bundled flows.
        more = _best(units, len(greedy) + 1, cost, width, size, measure)
        if more is not None and all(cost[k] < INSIDE for k in more[1]):
            return more[0]
    return found[0]


def _best(units: list[str], count: int, cost: dict[int, float], width: float, size: float,
          measure: Measure) -> tuple[tuple[str, ...], list[int]] | None:
    """The best way to set ``units`` in ``count`` lines no wider than ``width``: its lines
    and the units its lines after the first start at; None if there is none."""
    n = len(units)
    target = measure("".join(units), size) / count

    def line(a: int, b: int) -> str:
        return "".join(units[a:b]).strip()

    # best[k][i]: the least cost of setting units[:i] in k lines, and where its last line
    # starts; a line costs how far it is from an even share (a character's width is 0.4)
    # and 3 if it holds one character alone; a break costs what _break_costs says
    inf = float("inf")
    best = [[(inf, -1)] * (n + 1) for _ in range(count + 1)]
    best[0][0] = (0.0, -1)
    for k in range(1, count + 1):
        for b in range(1, n + 1):
            for a in range(b - 1, -1, -1):
                text_ab = line(a, b)
                w = measure(text_ab, size)
                if w > width + 1e-6:
                    break  # longer lines from further back only get wider
                if best[k - 1][a][0] == inf or not text_ab:
                    continue
                if a and (text_ab[0] in NO_LINE_START or line(0, a)[-1:] in NO_LINE_END):
                    continue
                score = best[k - 1][a][0] + (cost[a] if a else 0.0) \
                    + 0.4 * abs(w - target) / size + (3.0 if len(text_ab) == 1 else 0.0)
                if score < best[k][b][0] - 1e-9:
                    best[k][b] = (score, a)
    if best[count][n][0] == inf:
        return None
    lines, cuts, b = [], [], n
    for k in range(count, 0, -1):
        a = best[k][b][1]
        lines.append(line(a, b))
        if a:
            cuts.append(a)
        b = a
    return tuple(reversed(lines)), sorted(cuts)


def _break_costs(units: list[str]) -> dict[int, float]:
    """The cost of a break before unit ``i``: 0 after punctuation or before an opening mark,
    1 before a joining word, then by the words of :data:`WORDS` either side: 1.5 between two,
    2.5 at the edge of one, 3 where none is known, 6 inside one."""
    text = "".join(units)
    starts = [0]
    for u in units:
        starts.append(starts[-1] + len(u))
    inside: set[int] = set()  # character offsets a known word spans across
    ends: set[int] = set()  # offsets where a known word ends or starts
    for length in range(2, 6):
        for i in range(len(text) - length + 1):
            if text[i:i + length] in WORDS:
                inside.update(range(i + 1, i + length))
                ends.update((i, i + length))
    costs: dict[int, float] = {}
    for k in range(1, len(units)):
        at, before, after = starts[k], units[k - 1], units[k]
        if before[-1] in AFTER_MARKS or after[0] in NO_LINE_END:
            costs[k] = 0.0
        elif after[0] in JOINERS and at not in inside:
            costs[k] = 1.0
        elif at in inside and not _between_words(text, at):
            costs[k] = INSIDE
        elif at in ends:
            costs[k] = 1.5 if _between_words(text, at) else 2.5
        else:
            costs[k] = 3.0
    return costs


def _between_words(text: str, at: int) -> bool:
    """A known word ends at ``at`` and another starts there."""
    left = any(text[max(0, at - n):at] in WORDS for n in range(2, 6) if at - n >= 0)
    right = any(text[at:at + n] in WORDS for n in range(2, 6) if at + n <= len(text))
    return left and right


def words_broken(lines: tuple[str, ...] | list[str]) -> int:
    """How many of the breaks between ``lines`` fall inside a known word."""
    units = tokens("".join(lines))
    cost = _break_costs(units)
    unit_at, at = {}, 0
    for k, unit in enumerate(units):
        unit_at[at] = k
        at += len(unit)
    count, at = 0, 0
    for line in lines[:-1]:
        at += len(line)
        k = unit_at.get(at)
        if k and cost.get(k, 0.0) >= INSIDE:
            count += 1
    return count
