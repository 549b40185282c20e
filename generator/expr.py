"""The condition language of flows: parsed once, checked, evaluated by our own interpreter.

Conditions (``when: "days > 5"``) and derivations (``derive: "days_between(start, end) + 1"``)
come from YAML that anyone with write access to ``flows/`` can edit, and they are evaluated
while records are checked. Python's ``eval`` — even with empty builtins — can be escaped through
attribute access (``().__class__.__base__``), so we parse with :mod:`ast` and accept only a
small whitelist of node types: names, literals, comparisons, boolean and arithmetic operators
and calls of a few named functions. There is no attribute access and no subscript at all, so
there is nothing to escape through. Everything here is pure.
"""

from __future__ import annotations

import ast
import copy
import datetime as dt
import decimal
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

MAX_LENGTH = 500  # a condition is a line on a chart, not a program


class ExprError(ValueError):
    """The expression is not in the language, or cannot be evaluated with these values."""


def _days_between(a: Any, b: Any) -> int:
    if not isinstance(a, dt.date) or not isinstance(b, dt.date):
        raise ExprError("days_between() takes two dates")
    return (b - a).days


def _date(text: Any) -> dt.date:
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise ExprError(f"date('{text}') is not a date (YYYY-MM-DD)") from None


def _len(value: Any) -> int:
    if value is None:
        return 0
    if not isinstance(value, str | list | tuple):
        raise ExprError("len() takes text or a table")
    return len(value)


def _sum_of(table: Any, column: Any) -> int | Decimal:
    if table is None:
        return 0
    if not isinstance(table, list | tuple) or not isinstance(column, str):
        raise ExprError("sum_of() takes a table and a column name")
    total: int | Decimal = 0
    for row in table:
        value = row.get(column) if isinstance(row, Mapping) else None
        if value is None or value == "":
            continue
        if type(value) is int and type(total) is int:  # counts: exact, and the common case
            total += value
            continue
        if not isinstance(value, int | float | Decimal) or isinstance(value, bool):
            raise ExprError(f"sum_of(): column '{column}' holds '{value}', not a number")
        total = CONTEXT.add(total, _exact(value))
    return total


# Arithmetic on numbers is exact: ints stay ints, and whenever a Decimal (a non-whole value or
# literal) or a division is involved it is done in this one context, not the thread's, so the
# writer and verify get the same digits. 40 significant digits hold any sum, difference or
# product of two record numbers (16 digits before the point, 10 after) exactly; a quotient is
# rounded there, and the field it is derived into rounds it again to its places. Overflow (a
# product of hundreds of factors) is an error, not an infinity.
CONTEXT = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN, Emin=-9999, Emax=9999,
                          traps=[decimal.InvalidOperation, decimal.DivisionByZero,
                                 decimal.Overflow])


def _exact(value: Any) -> Any:
    """A float (a literal in the expression, or a caller's value) as the decimal it was written
    as, the text Python prints for it; anything else as it is."""
    return Decimal(repr(value)) if isinstance(value, float) else value


def _band(value: Any, thresholds: Any, labels: Any) -> Any:
    """The label of the band ``value`` falls in: ``band(total, [90, 80, 60], ['A', 'B', 'C',
    'D'])`` is 'A' from 90 up, 'B' from 80 up to below 90, …, 'D' below 60 (the thresholds are
    each band's lowest value, highest first; one label more than thresholds). A missing value
    has no band (``None``)."""
    if value is None:
        return None
    if not isinstance(thresholds, tuple) or not isinstance(labels, tuple) or \
            len(labels) != len(thresholds) + 1:
        raise ExprError("band() takes a value, a list of thresholds and one label more")
    value = _exact(value)
    _need_number(value)
    for threshold, label in zip(thresholds, labels, strict=False):
        if value >= _exact(threshold):
            return label
    return labels[-1]


def _limit(kind: Any, level: Any) -> Any:  # pragma: no cover - compiled specially, see _compile
    raise ExprError("limit() is read from the authority matrix, not called")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "band": _band,
    "days_between": _days_between,
    "date": _date,
    "len": _len,
    "limit": _limit,
    "sum_of": _sum_of,
}
_ARITY = {"band": 3, "days_between": 2, "date": 1, "len": 1, "limit": 2, "sum_of": 2}

# The name under which a caller passes the authority matrix (授权审批权限表) of org.yaml,
# ``{'refund': {'ec_manager': 3000, …}, …}``: ``limit('refund', 'ec_manager')`` reads it. No
# field can have this id (function names are reserved), so a record cannot shadow a limit.
LIMITS = "limit"


def limit_value(matrix: Any, kind: str, level: str) -> Any:
    """``limit(kind, level)`` in ``matrix``, or an error naming what is missing."""
    table = matrix.get(kind) if isinstance(matrix, Mapping) else None
    if not isinstance(table, Mapping):
        raise ExprError(f"limit('{kind}', '{level}'): '{kind}' is not a kind of limit in the "
                        "authority matrix of org.yaml")
    if level not in table:
        raise ExprError(f"limit('{kind}', '{level}'): the authority matrix gives '{kind}' no "
                        f"limit for '{level}' (it has {', '.join(table) or 'none'})")
    return _exact(table[level])

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_ARITH: dict[type, Callable[[Any, Any], Any]] = {  # on two ints (a quotient is never an int)
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
}
_DECIMAL: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: CONTEXT.add,
    ast.Sub: CONTEXT.subtract,
    ast.Mult: CONTEXT.multiply,
    ast.Div: CONTEXT.divide,
}
_SYMBOL = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
           ast.In: "in", ast.NotIn: "not in"}


@dataclass(frozen=True)
class Atom:
    """A simple comparison ``name OP literal``: the only thing the coverage proof reasons about."""

    name: str
    op: str
    value: Any


@dataclass(frozen=True)
class Expr:
    """A parsed expression. ``names`` are the variables it reads (never function names)."""

    source: str
    tree: ast.expr = field(repr=False, compare=False)
    names: frozenset[str]
    atoms: tuple[Atom, ...]
    simple: bool  # every comparison in it is an Atom, so coverage can be proved by cases
    limits: frozenset[tuple[str, str]] = frozenset()  # the limit(kind, level) it reads
    run: Callable[[Mapping[str, Any]], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "run", _compile(self.tree))

    def __reduce__(self) -> tuple[Any, ...]:
        return parse, (self.source,)  # closures do not pickle; the source is the expression

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        """Evaluate with variable values from ``env``; a missing variable is ``None``."""
        try:
            return self.run(env)
        except ExprError:
            raise
        except (TypeError, ValueError, ArithmeticError, OverflowError) as exc:
            raise ExprError(f"cannot evaluate '{self.source}': {exc}") from None


def parse(source: str) -> Expr:
    """Parse ``source``; raise :class:`ExprError` naming what is not allowed."""
    if not isinstance(source, str) or not source.strip():
        raise ExprError("empty expression")
    return _parsed(source)


@lru_cache(maxsize=1024)
def _parsed(source: str) -> Expr:
    """Remembered by its text: the checker and every record's rules parse the same few dozen
    conditions again and again, and an ``Expr`` is not changed once made (:func:`bind` makes
    a new one from a copy of the tree)."""
    if len(source) > MAX_LENGTH:
        raise ExprError(f"expression is {len(source)} characters; at most {MAX_LENGTH}")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else "cannot be parsed"
        raise ExprError(f"invalid expression '{source}': {detail}") from None
    names: set[str] = set()
    atoms: list[Atom] = []
    simple = _validate(tree.body, names, atoms)
    limits = frozenset((n.args[0].value, n.args[1].value) for n in ast.walk(tree.body)
                       if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                       and n.func.id == "limit")
    return Expr(source, tree.body, frozenset(names), tuple(atoms), simple, limits)


def bind(expression: Expr, matrix: Mapping[str, Mapping[str, Any]]) -> Expr:
    """``expression`` with every ``limit(kind, level)`` replaced by its number in ``matrix``
    (so the checker can prove exits cover every case); raises :class:`ExprError` on a limit the
    matrix does not have."""
    if not expression.limits:
        return expression

    class _Bind(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.AST:
            if isinstance(node.func, ast.Name) and node.func.id == "limit":
                kind, level = (a.value for a in node.args)  # type: ignore[attr-defined]
                value = limit_value(matrix, kind, level)
                number = int(value) if value == int(value) else float(value)
                return ast.copy_location(ast.Constant(number), node)
            return self.generic_visit(node)

    tree = _Bind().visit(copy.deepcopy(expression.tree))
    return parse(ast.unparse(tree))


def _literal(node: ast.AST) -> tuple[bool, Any]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
        return True, node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        ok, value = _literal(node.operand)
        if ok and isinstance(value, int | float) and not isinstance(value, bool):
            return True, -value
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "date"
            and len(node.args) == 1 and isinstance(node.args[0], ast.Constant)):
        try:
            return True, _date(node.args[0].value)
        except ExprError:
            return False, None
    if isinstance(node, ast.List | ast.Tuple):
        values = [_literal(e) for e in node.elts]
        if all(ok for ok, _ in values):
            return True, tuple(v for _, v in values)
    return False, None


def _validate(node: ast.AST, names: set[str], atoms: list[Atom]) -> bool:
    """Reject anything outside the whitelist; return whether every comparison is an Atom."""
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, str | int | float | bool) or node.value is None:
            raise ExprError(f"literal {node.value!r} is not allowed")
        return True
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise ExprError(f"name '{node.id}' is not allowed")
        names.add(node.id)
        return True
    if isinstance(node, ast.BoolOp):
        return all([_validate(v, names, atoms) for v in node.values])
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            raise ExprError("operator not allowed")
        return _validate(node.operand, names, atoms)
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _DECIMAL:
            raise ExprError("only + - * / are allowed in arithmetic")
        _validate(node.left, names, atoms)
        _validate(node.right, names, atoms)
        return False
    if isinstance(node, ast.List | ast.Tuple):
        for element in node.elts:
            _validate(element, names, atoms)
        return True
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        for operand in operands:
            _validate(operand, names, atoms)
        if len(node.ops) != 1:
            return False
        op = _SYMBOL[type(node.ops[0])]
        left, right = node.left, node.comparators[0]
        if isinstance(left, ast.Name):
            ok, value = _literal(right)
            if ok:
                atoms.append(Atom(left.id, op, value))
                return True
        if isinstance(right, ast.Name) and op not in ("in", "not in"):
            ok, value = _literal(left)
            if ok:
                flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
                atoms.append(Atom(right.id, flipped, value))
                return True
        return False
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute):
            raise ExprError("attribute access ('.') is not allowed")
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            what = node.func.id if isinstance(node.func, ast.Name) else "this"
            raise ExprError(
                f"function '{what}' is not allowed (allowed: {', '.join(sorted(FUNCTIONS))})"
            )
        if node.keywords or len(node.args) != _ARITY[node.func.id]:
            raise ExprError(f"{node.func.id}() takes {_ARITY[node.func.id]} positional arguments")
        if node.func.id == "limit":
            if not all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                       and a.value.isidentifier() for a in node.args):
                raise ExprError("limit() takes two names in quotes: limit('refund', 'ec_manager')")
            return False
        if node.func.id == "band":
            _validate_band(node)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise ExprError("* arguments are not allowed")
            _validate(arg, names, atoms)
        return node.func.id == "date"
    if isinstance(node, ast.Attribute):
        raise ExprError("attribute access ('.') is not allowed")
    if isinstance(node, ast.Subscript):
        raise ExprError("subscripts ('[...]') are not allowed")
    raise ExprError(f"{type(node).__name__} is not allowed in a condition")


def _validate_band(node: ast.Call) -> None:
    """band()'s thresholds and labels are written in the flow, checked once here: numbers
    strictly falling, labels text, one label more than thresholds."""
    usage = "band() takes a value, [thresholds, highest first] and [labels], one more: " \
            "band(total_score, [90, 80, 60], ['A', 'B', 'C', 'D'])"
    ok_t, thresholds = _literal(node.args[1])
    ok_l, labels = _literal(node.args[2])
    if not (ok_t and ok_l and isinstance(thresholds, tuple) and isinstance(labels, tuple)):
        raise ExprError(usage)
    if not thresholds or any(isinstance(t, bool) or not isinstance(t, int | float)
                             for t in thresholds) \
            or not all(isinstance(label, str) for label in labels) \
            or len(labels) != len(thresholds) + 1:
        raise ExprError(usage)
    if any(a <= b for a, b in itertools.pairwise(thresholds)):
        raise ExprError("band(): the thresholds must fall, highest first")


def band_labels(expression: Expr) -> tuple[str, ...]:
    """Every label a ``band(…)`` in ``expression`` can give (what a choice derived by it may
    hold)."""
    out: list[str] = []
    for node in ast.walk(expression.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "band":
            out += _literal(node.args[2])[1]
    return tuple(out)


def _compile(node: ast.AST) -> Callable[[Mapping[str, Any]], Any]:
    """The validated tree as nested closures, made once per expression. Walking the tree and
    dispatching on node types at every evaluation was a third of checking a record, which
    ``verify`` and an import do for every record."""
    if isinstance(node, ast.Constant):
        value = _exact(node.value)  # 0.1 means one tenth, not the float nearest to it
        return lambda env: value
    if isinstance(node, ast.Name):
        name = node.id
        return lambda env: env.get(name)
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v) for v in node.values]
        if isinstance(node.op, ast.And):
            def all_of(env: Mapping[str, Any]) -> Any:
                result: Any = True
                for part in parts:
                    result = part(env)
                    if not result:
                        return result
                return result
            return all_of

        def any_of(env: Mapping[str, Any]) -> Any:
            result: Any = False
            for part in parts:
                result = part(env)
                if result:
                    return result
            return result
        return any_of
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda env: not operand(env)
        negate = isinstance(node.op, ast.USub)

        def signed(env: Mapping[str, Any]) -> Any:
            value = _exact(operand(env))
            _need_number(value)
            if isinstance(value, Decimal):  # copy_negate is exact; -value would round
                return value.copy_negate() if negate else value
            return -value if negate else value
        return signed
    if isinstance(node, ast.BinOp):
        left, right = _compile(node.left), _compile(node.right)
        on_ints, on_decimals = _ARITH.get(type(node.op)), _DECIMAL[type(node.op)]

        def arithmetic(env: Mapping[str, Any]) -> Any:
            a, b = left(env), right(env)
            if type(a) is int and type(b) is int and on_ints is not None:  # days + 1: exact
                return on_ints(a, b)
            if a is None or b is None:
                raise ExprError("a value it needs is missing")
            a, b = _exact(a), _exact(b)
            # Numbers only: 'x' * 10**9 must not be a way to exhaust memory.
            _need_number(a)
            _need_number(b)
            return on_decimals(a, b)
        return arithmetic
    if isinstance(node, ast.List | ast.Tuple):
        elements = [_compile(e) for e in node.elts]
        return lambda env: tuple(e(env) for e in elements)
    if isinstance(node, ast.Compare):
        first = _compile(node.left)
        steps = [(_COMPARE[type(op)], isinstance(op, ast.Eq | ast.NotEq), _compile(c))
                 for op, c in zip(node.ops, node.comparators, strict=True)]

        def compare(env: Mapping[str, Any]) -> bool:
            a = first(env)
            for test, equality, comparator in steps:
                b = comparator(env)
                # An unknown value satisfies no ordering: a missing field must not route a record.
                if (a is None or b is None) and not equality:
                    return False
                if not test(a, b):
                    return False
                a = b
            return True
        return compare
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        if node.func.id == "limit":
            kind, level = (a.value for a in node.args)  # type: ignore[attr-defined]
            return lambda env: limit_value(env.get(LIMITS), kind, level)
        function, arguments = FUNCTIONS[node.func.id], [_compile(a) for a in node.args]
        return lambda env: function(*(a(env) for a in arguments))
    raise ExprError(f"{type(node).__name__} cannot be evaluated")  # pragma: no cover


def _need_number(value: Any) -> None:
    if not isinstance(value, int | Decimal) or isinstance(value, bool):
        raise ExprError(f"'{value}' is not a number")


def sample_values(atoms: Iterable[Atom], name: str, known: Iterable[Any] | None = None) -> list[Any]:
    """Values of ``name`` that between them take every branch any of ``atoms`` can distinguish.

    For a variable with a known finite domain (a choice, a decision, a bool) that is the domain.
    For numbers and dates it is each threshold and points just either side of it, which is
    exact for comparisons of one variable with constants.
    """
    if known is not None:
        return list(known)
    points: set[Any] = set()
    for atom in atoms:
        if atom.name != name:
            continue
        values = atom.value if isinstance(atom.value, tuple) else (atom.value,)
        for value in values:
            if isinstance(value, bool):
                points.update((True, False))
            elif isinstance(value, int | float | Decimal):
                # exact points: the float 0.1 is not the 0.1 a condition compares with
                value, half = _exact(value), Decimal("0.5")
                points.update((value - 1, value - half, value, value + half, value + 1))
            elif isinstance(value, dt.date):
                points.update(value + dt.timedelta(days=d) for d in (-1, 0, 1))
            else:
                points.add(value)
                points.add("\u0000other")
    return sorted(points, key=lambda v: (str(type(v)), v)) or [None]


def uncovered_case(
    conditions: list[Expr], domains: Mapping[str, list[Any]], limit: int = 20000
) -> dict[str, Any] | None:
    """A combination of values that no condition accepts, or ``None`` if they cover every case.

    ``domains`` gives the sample values of every variable the conditions read. Raises
    :class:`ExprError` when the case split would be too large to enumerate.
    """
    names = sorted(domains)
    total = 1
    for name in names:
        total *= max(1, len(domains[name]))
    if total > limit:
        raise ExprError("too many cases to prove coverage")
    for combo in itertools.product(*(domains[n] for n in names)):
        env = dict(zip(names, combo, strict=True))
        if not any(_safe_truth(c, env) for c in conditions):
            return env
    return None


def _safe_truth(condition: Expr, env: Mapping[str, Any]) -> bool:
    try:
        return bool(condition.evaluate(env))
    except ExprError:
        return False
