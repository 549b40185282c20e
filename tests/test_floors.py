"""The house's floors are true: no import cycle between modules or between the packages of
``generator/`` (no borrowed ``_private`` name either: tests/test_repository.py)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "generator"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _imports(modules: dict[str, Path]) -> dict[str, set[tuple[str, str]]]:
    """Each module's imports of the package: ``(module imported, name)``, lazy ones included."""
    found: dict[str, set[tuple[str, str]]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    found.setdefault(name, set()).add((sub if sub in modules else target,
                                                       alias.name))
            elif isinstance(node, ast.Import):
                found.setdefault(name, set()).update((a.name, "") for a in node.names)
    return {m: {(t, n) for t, n in targets if t.startswith("generator")}
            for m, targets in found.items()}


@functools.cache
def _package() -> tuple[dict[str, Path], dict[str, set[tuple[str, str]]]]:
    """The package's modules and their imports, read once for the tests below (the trees
    themselves are not kept: a few hundred thousand objects every garbage collection of the
    test process would go through)."""
    modules = _modules()
    return modules, _imports(modules)


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt, [*path, nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_no_import_cycle_between_modules_or_packages():
    modules, imports = _package()
    module_edges = {m: {t for t, _ in ts if t in modules and t != m} for m, ts in imports.items()}
    assert _cycle(module_edges) is None, " → ".join(_cycle(module_edges) or [])

    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    package_edges: dict[str, set[str]] = {}
    for m, targets in module_edges.items():
        for t in targets:
            if package(t) != package(m):
                package_edges.setdefault(package(m), set()).add(package(t))
    assert _cycle(package_edges) is None, " → ".join(_cycle(package_edges) or [])


def test_the_checker_itself_sees_a_cycle():
    """The test above could pass by seeing nothing: a made-up graph with a cycle is found."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    assert len(_package()[1]) > 50


# What a front door may import: the service, the errors it maps to an exit or a status, the
# model it reads names from, and the leaf helpers that carry no rule (atomic writes, safe
# terminal text, the bundled font it serves). `flowdoc check` runs the checker itself.
FRONT_DOOR_MAY_IMPORT = ("generator.service", "generator.errors", "generator.model",
                         "generator.fileio", "generator.textsafe", "generator.fonts",
                         "generator.web")
CHECK_COMMAND = "generator.checks"


def _front_door_reaches(modules, imports) -> list[str]:
    found = []
    for module, targets in sorted(imports.items()):
        if not (module == "generator.cli" or module.startswith("generator.web")):
            continue
        for target, name in sorted(targets):
            allowed = FRONT_DOOR_MAY_IMPORT + ((CHECK_COMMAND,) if module == "generator.cli"
                                               else ())
            if target != "generator" and not target.startswith(allowed):
                found.append(f"{module} imports {name} from {target}")
    return found


def test_front_doors_hold_no_rule_of_their_own():
    """The CLI and the web app reach the capabilities only through the service, so the two
    cannot show one thing two ways (a status word, a value's text) or apply a rule twice."""
    assert _front_door_reaches(*_package()) == []


def test_the_front_door_check_sees_a_reach_past_the_service():
    made_up = {"generator.web.records": {("generator.archive.state", "STATUS_TEXT"),
                                         ("generator.service.words", "value_text")}}
    assert _front_door_reaches(_modules(), made_up) == [
        "generator.web.records imports STATUS_TEXT from generator.archive.state"]
