"""The repository keeps its own promises: CI runs the README's test command, and the package's
modules use each other's public names only."""

from __future__ import annotations

import ast

from conftest import ROOT


def test_ci_runs_exactly_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert readme[:2] == ["```sh", "pip install . && flowdoc build"]  # the first line: pip only
    command = readme[2]
    ci = [line for line in (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci[-1] == command, "the last command .ci/run runs is the README's second line"
    assert "apt-get" not in "\n".join(ci), "system packages are installed by the README's command"


def private_imports() -> list[str]:
    """Every ``from m import _name`` and ``m._name`` in generator/ where ``m`` is another
    module, as ``file:line: module._name``."""
    found = []
    for path in sorted((ROOT / "generator").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        where = path.relative_to(ROOT)
        modules: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    modules[alias.asname or alias.name.split(".")[0]] = alias.name
            elif isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                for alias in node.names:
                    modules[alias.asname or alias.name] = f"{module}.{alias.name}"
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"{where}:{node.lineno}: {module}.{alias.name}")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in modules and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                found.append(f"{where}:{node.lineno}: {modules[node.value.id]}.{node.attr}")
    return sorted(set(found))


def test_no_module_uses_a_private_name_of_another():
    assert private_imports() == []

