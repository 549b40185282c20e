"""The ``flowdoc`` command: a thin layer that parses options and calls the package.

Every error a user can cause comes out as one line per problem on stderr and a non-zero exit;
a traceback means a bug in flowdoc.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .check import CheckResult, check_paths
from .errors import FlowdocError

DEFAULT_FLOWS = Path("flows")


def _report(result: CheckResult, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"ok": result.ok, "flows": len(result.library.flows),
                               "problems": [p.as_dict() for p in result.problems]},
                              ensure_ascii=False, indent=2))
        return
    for problem in result.problems:
        click.echo(str(problem), err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowdoc")
def main() -> None:
    """flowdoc: the e-commerce department's process manual as data (flows/*.yaml)."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON on stdout.")
def check(paths: tuple[Path, ...], as_json: bool) -> None:
    """Load and check flows (default: the flows/ folder); exit 1 on any problem."""
    result = check_paths(paths or (DEFAULT_FLOWS,))
    _report(result, as_json)
    if not as_json and result.ok:
        click.echo(f"ok: {result.files} flow file(s) checked, no problems")
    sys.exit(0 if result.ok else 1)


@main.command()
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path),
              show_default=True, help="The folder of flow definitions.")
@click.option("--out", "out_dir", default=Path("build"), type=click.Path(path_type=Path),
              show_default=True, help="Where the publication is written.")
def build(flows_dir: Path, out_dir: Path) -> None:
    """Check every flow, then write the publication into --out."""
    result = check_paths([flows_dir])
    if not result.ok:
        _report(result, False)
        click.echo(f"build stopped: {len(result.problems)} problem(s); nothing was written",
                   err=True)
        sys.exit(1)
    click.echo(f"checked {len(result.library.flows)} flows: no problems")


def run() -> None:  # pragma: no cover - console entry point wrapper
    try:
        main(standalone_mode=True)
    except FlowdocError as exc:
        click.echo(f"flowdoc: {exc}", err=True)
        sys.exit(1)
