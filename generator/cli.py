"""The ``flowdoc`` command: a thin layer that parses options and calls the package.

Every error a user can cause comes out as one line per problem on stderr and a non-zero exit;
a traceback means a bug in flowdoc.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .errors import FlowdocError, ProblemsError
from .fileio import write_atomic
from .textsafe import visible

if TYPE_CHECKING:  # loading and checking flows is imported by the commands that need it:
    from .checks import CheckResult  # `flowdoc checkpoint` starts without YAML or crypto

DEFAULT_FLOWS = Path("flows")


def _report(result: CheckResult, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"ok": result.ok, "flows": len(result.library.flows),
                               "problems": [p.as_dict() for p in result.problems]},
                              ensure_ascii=False, indent=2))
        return
    for problem in result.problems:
        click.echo(visible(str(problem)), err=True)


class ArchiveLocation(click.ParamType):
    """A folder (a path) or a PostgreSQL store (a ``postgresql://`` URL, kept as text: a
    path would fold its ``//``). The URL may carry a password, so it is never echoed."""

    name = "folder|postgresql://…"

    def convert(self, value, param, ctx):
        from .service import archive_location

        return archive_location(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowdoc")
def main() -> None:
    """flowdoc: the e-commerce department's process manual as data (flows/*.yaml)."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON on stdout.")
def check(paths: tuple[Path, ...], as_json: bool) -> None:
    """Load and check flows (default: the flows/ folder); exit 1 on any problem."""
    from .checks import check_paths

    result = check_paths(paths or (DEFAULT_FLOWS,))
    _report(result, as_json)
    if not as_json and result.ok:
        warnings = len(result.problems)
        click.echo(f"ok: {result.files} flow file(s) checked, "
                   + (f"{warnings} warning(s)" if warnings else "no problems"))
    sys.exit(0 if result.ok else 1)


@main.command()
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path),
              show_default=True, help="The folder of flow definitions.")
@click.option("--out", "out_dir", default=Path("build"), type=click.Path(path_type=Path),
              show_default=True, help="Where the publication is written.")
@click.option("--templates", "templates_dir", type=click.Path(path_type=Path),
              help="Jinja2 templates of the manual's text (default: templates/ beside flows/).")
@click.option("--copy", "copy_number", type=click.IntRange(1, 9999),
              help="Make numbered controlled copy N (needs --holder).")
@click.option("--holder", help="The department holding the controlled copy.")
def build(flows_dir: Path, out_dir: Path, templates_dir: Path | None, copy_number: int | None,
          holder: str | None) -> None:
    """Check every flow, then write the publication into --out.

    Writes DIR/manual.pdf and DIR/manual.docx (the controlled-document manual), DIR/manifest.json
    (what the next build's 修订记录 compares with) and DIR/diagrams/CODE.{svg,png,pdf} for every
    flow (a chart split across pages gives CODE-1.svg, CODE-2.svg …; its PDF holds every page).
    Files whose bytes did not change are not rewritten.
    """
    from .service import documents

    request = _call(documents.BuildRequest, flows_dir, out_dir, templates_dir, copy_number,
                    holder)
    if documents.up_to_date(request):  # the last build read exactly these inputs
        click.echo(f"{out_dir}: up to date (inputs unchanged since the last build)")
        return
    # the workers start first: they ready the writers while the flows are checked
    with documents.start_workers() as started:
        ws = _workspace(flows_dir, warn=True)  # warnings: the build goes on, says what is 草稿
        result = _call(documents.build, ws, request, progress=_progress, started=started)
    if result.skipped:
        click.echo(f"{out_dir}: up to date (inputs unchanged since the last build)")
        return
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"checked {len(ws.library.flows)} flows; wrote {len(result.written)} file(s) to "
               f"{out_dir} ({result.unchanged} unchanged)")


def _progress(done: int, total: int, what: str) -> None:
    if sys.stderr.isatty():
        click.echo(f"\r[{done}/{total}] {what:<20}", err=True, nl=done == total)


@main.command()
@click.argument("code")
@click.option("--format", "fmt", type=click.Choice(["svg", "png", "pdf"]), default="svg",
              show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="File to write (default: CODE.FORMAT here); a split SVG/PNG chart gets -1, -2 …")
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path),
              show_default=True, help="The folder of flow definitions.")
def diagram(code: str, fmt: str, output: Path | None, flows_dir: Path) -> None:
    """Write one flow's swimlane chart."""
    from .service import documents

    ws = _workspace(flows_dir, warn=True)
    for path in _call(documents.diagram, ws, code, fmt, output):
        click.echo(str(path))


@main.group()
def flow() -> None:
    """Document control of flow definitions."""


@flow.command("sign")
@click.argument("code")
@click.option("--as", "person", required=True, help="The signer: a person in org.yaml.")
@click.option("--meaning", required=True, type=click.Choice(["编制", "审核", "批准"]))
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Date of the signature (default: today).")
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path),
              show_default=True)
@click.option("--archive", "archive_dir", default=Path("records"), type=ArchiveLocation(),
              show_default=True, envvar="FLOWDOC_ARCHIVE",
              help="The archive holding the signer's key (a folder or a postgresql:// URL).")
@click.option("--passphrase-file", type=click.Path(path_type=Path),
              help="Read the passphrase from this file (else FLOWDOC_PASSPHRASE, else a prompt).")
def flow_sign(code: str, person: str, meaning: str, on, flows_dir: Path, archive_dir: Path,
              passphrase_file: Path | None) -> None:
    """Sign CODE's 编制/审核/批准 with PERSON's own key, bound to the hash of its content as it
    is now; the key's public half goes into keys.yaml beside the flows if it is not there."""
    from .service import documents

    ws = _workspace(flows_dir, archive_dir, warn=True)
    done = _call(documents.sign_flow, ws, code, person, meaning,
                 lambda: _passphrase(passphrase_file), on.date() if on else None)
    content = ws.library.flow(code).content_hash
    click.echo(f"{code}: {meaning} by {person} signed with key {done.key_id[:12]}…, bound to "
               f"{content[:12]}… ({done.state})")


@main.command()
@click.argument("code")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Default: CODE.pdf here.")
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path),
              show_default=True)
@click.option("--templates", "templates_dir", type=click.Path(path_type=Path),
              help="Templates (default: templates/ beside flows/).")
def form(code: str, output: Path | None, flows_dir: Path, templates_dir: Path | None) -> None:
    """Write one flow's fillable PDF form (A4 AcroForm that types Chinese)."""
    from .service import documents

    ws = _workspace(flows_dir)
    click.echo(str(_call(documents.form, ws, code, output, templates_dir)))


@main.group()
def record() -> None:
    """Records: one filled instance of a flow."""


@record.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--as", "applicant", help="Who applies (the applicant may not approve it).")
@click.option("--choose", "chosen", multiple=True, metavar="LANE=PERSON",
              help="The approver the applicant names for a lane of approver: chosen.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path),
              show_default=True)
def record_check(file: Path, applicant: str | None, chosen: tuple[str, ...], as_json: bool,
                 flows_dir: Path) -> None:
    """Check a record (YAML or JSON) against its flow, archiving nothing: typed values, problems,
    the path it will take and who may sign each step on it. Exit 0 if acceptable."""
    from .service import records

    ws = _workspace(flows_dir)
    result = _call(records.check, ws, file, applicant,
                   _call(records.parse_changes, chosen, option="--choose"))
    if as_json:
        click.echo(json.dumps(_record_json(result), ensure_ascii=False, indent=2,
                              default=_json_value))
    else:
        _print_record(result, file)
    sys.exit(0 if result.ok else 1)


def _record_json(result) -> dict:
    return {
        "ok": result.ok, "flow": result.flow.code, "revision": result.flow.revision,
        "values": result.values,
        "problems": [{"where": w, "message": m} for w, m in result.problems],
        "path": list(result.route.steps) if result.route else None,
        "outcome": result.route.outcome if result.route else None,
        "waiting_for": result.route.waiting_for if result.route else None,
        "signers": [{"step": s.step, "text": s.text, "lane": s.lane, "rule": s.rule,
                     "people": list(s.people), "deputies": [list(d) for d in s.deputies],
                     "needed": s.needed, "anyone": s.anyone} for s in result.signers],
    }


def _json_value(value) -> str:
    """Typed values json.dumps does not know: numbers in their canonical text, dates ISO."""
    from .service.words import value_text

    return value_text(value)


def _print_record(result, file: Path) -> None:
    from .service.words import value_text

    for where, message in result.problems:
        click.echo(visible(f"{file}: {where}: {message}"), err=True)
    flow = result.flow
    click.echo(f"{flow.code} {flow.name}（{flow.revision}）")
    for f in flow.fields:
        value = result.values.get(f.id)
        if value not in (None, [], ()):
            click.echo(visible(f"  {f.label}: {value_text(value)}{f.unit or ''}"))
    if result.route:
        names = [flow.step(s).text for s in result.route.steps]
        tail = ""
        if result.route.outcome == "pending" and result.route.waiting_for:
            step = flow.step(result.route.waiting_for)
            tail = f" …（取决于 {step.text}：{'/'.join(step.decisions)}）"
        click.echo("  路径: " + " → ".join(names) + tail)
    for s in result.signers:
        who = "任何员工" if s.anyone else s.shown() or f"（无人可签：{s.rule}）"
        quorum = f"（会签：{s.needed} 人）" if s.needed > 1 else ""
        click.echo(f"  {s.text}（{s.lane}）{quorum}: {who}")
    click.echo("ok" if result.ok else f"{len(result.problems)} problem(s)")


DEFAULT_ARCHIVE = Path("records")


archive_option = click.option("--archive", "archive_dir", default=DEFAULT_ARCHIVE,
                              type=ArchiveLocation(), show_default=True,
                              envvar="FLOWDOC_ARCHIVE",
                              help="The archive: a folder, or a postgresql:// URL "
                                   "(also FLOWDOC_ARCHIVE).")
passphrase_option = click.option("--passphrase-file", type=click.Path(path_type=Path),
                                 help="Read the passphrase from this file (else "
                                      "FLOWDOC_PASSPHRASE, else a prompt).")


flows_option = click.option("--flows", "flows_dir", default=DEFAULT_FLOWS,
                            type=click.Path(path_type=Path), show_default=True,
                            help="The folder of flow definitions.")


def signing_options(command):
    """--archive, --passphrase-file and --flows: what every command that signs takes."""
    return archive_option(passphrase_option(flows_option(command)))


def _passphrase(path: Path | None, confirm: bool = False) -> str:
    """The signer's secret: from a file, the environment or a hidden prompt; never an argument,
    so it stays out of shell history and process lists, and it is never printed."""
    import os

    if path is not None:
        try:
            return path.read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            click.echo(f"flowdoc: {path}: cannot read the passphrase file: {exc.strerror}", err=True)
            sys.exit(1)
        except UnicodeDecodeError:  # its message quotes a byte of the secret and where it is
            click.echo(visible(f"flowdoc: {path}: the passphrase file is not UTF-8 text"),
                       err=True)
            sys.exit(1)
    if os.environ.get("FLOWDOC_PASSPHRASE"):
        return os.environ["FLOWDOC_PASSPHRASE"]
    if not sys.stdin.isatty():
        click.echo("flowdoc: no passphrase: give --passphrase-file or FLOWDOC_PASSPHRASE",
                   err=True)
        sys.exit(1)
    return click.prompt("passphrase", hide_input=True, confirmation_prompt=confirm, err=True)


def _call(fn, *args, suffix: str = "", **kwargs):
    """``fn(*args)`` of the service layer, its error shown as one line with the exit status
    its code gives (``usage`` 2, every other 1): the only place the CLI turns errors into
    exits."""
    try:
        return fn(*args, **kwargs)
    except ProblemsError as exc:
        for problem in exc.problems:
            click.echo(visible(str(problem)), err=True)
        sys.exit(EXIT.get(exc.code, 1))
    except FlowdocError as exc:
        click.echo(visible(f"flowdoc: {exc}{suffix}"), err=True)
        sys.exit(EXIT.get(exc.code, 1))


EXIT = {"usage": 2}  # every other error code exits 1


def _workspace(flows_dir: Path, archive_dir: Path = Path("records"),
               definitions_only: bool = False, warn: bool = False):
    """The flows checked (exit 1 with every problem printed if they have errors: nothing is
    written from bad input) and the archive, its operator key unlocked from
    FLOWDOC_OPERATOR_PASSPHRASE (or the file FLOWDOC_OPERATOR_PASSPHRASE_FILE names) when a
    command writes."""
    from .service import open_workspace

    ws = open_workspace(flows_dir, archive_dir,
                        operator_passphrase=_secret_from_env("FLOWDOC_OPERATOR_PASSPHRASE"),
                        strict=False, definitions_only=definitions_only)
    if not ws.checked.ok:
        _report(ws.checked, False)
        click.echo(f"stopped: {len(ws.checked.errors)} problem(s) in {flows_dir}; nothing was "
                   "written", err=True)
        sys.exit(1)
    if warn:
        _report(ws.checked, False)
    return ws


def _secret_from_env(name: str) -> str | None:
    """A secret for a service key from ``NAME`` or the file ``NAME_FILE`` names (never an
    argument, never printed)."""
    import os

    if os.environ.get(f"{name}_FILE"):
        path = Path(os.environ[f"{name}_FILE"])
        try:
            return path.read_text(encoding="utf-8").rstrip("\n")
        except (OSError, UnicodeDecodeError):
            click.echo(f"flowdoc: {path}: cannot read the passphrase file (${name}_FILE)",
                       err=True)
            sys.exit(1)
    return os.environ.get(name) or None


@main.group()
def keys() -> None:
    """Personal signing keys (Ed25519, encrypted with the owner's passphrase)."""


@keys.command("new")
@click.argument("person")
@signing_options
def keys_new(person: str, archive_dir: Path, passphrase_file: Path | None, flows_dir: Path) -> None:
    """Make PERSON's signing key and register its public half in the archive. It signs
    nothing until a registrar vouches for it (flowdoc keys approve)."""
    from .service import keys as service_keys

    ws = _workspace(flows_dir, archive_dir, definitions_only=True)
    kid = _call(service_keys.new, ws, person, _passphrase(passphrase_file, confirm=True))
    click.echo(f"{person}: key {kid} registered; it signs once a registrar vouches for it "
               f"(flowdoc keys approve {person} --as REGISTRAR)")


@keys.command("passphrase")
@click.argument("person")
@click.option("--new-passphrase-file", type=click.Path(path_type=Path),
              help="A file holding the new passphrase (else FLOWDOC_NEW_PASSPHRASE, else a "
                   "prompt asked twice).")
@signing_options
def keys_passphrase(person: str, new_passphrase_file: Path | None, archive_dir: Path,
                    passphrase_file: Path | None, flows_dir: Path) -> None:
    """Change the passphrase of PERSON's signing key: the same key, wrapped again (what it
    signed stays signed; the old passphrase unlocks nothing from now on)."""
    import os

    from .service import people

    ws = _workspace(flows_dir, archive_dir, definitions_only=True)
    old = _passphrase(passphrase_file)
    if new_passphrase_file is None and os.environ.get("FLOWDOC_NEW_PASSPHRASE"):
        new = os.environ["FLOWDOC_NEW_PASSPHRASE"]
    elif new_passphrase_file is None and sys.stdin.isatty():
        new = click.prompt("new passphrase", hide_input=True, confirmation_prompt=True, err=True)
    elif new_passphrase_file is None:
        click.echo("flowdoc: no new passphrase: give --new-passphrase-file or "
                   "FLOWDOC_NEW_PASSPHRASE", err=True)
        sys.exit(1)
    else:
        new = _passphrase(new_passphrase_file)
    kid = _call(people.change_passphrase, ws, person, old, new)
    click.echo(f"{person}: key {kid} now unlocks with the new passphrase only")


@keys.command("approve")
@click.argument("person")
@click.option("--as", "registrar", required=True, help="The registrar (trust.yaml) who vouches.")
@signing_options
def keys_approve(person: str, registrar: str, archive_dir: Path, passphrase_file: Path | None,
                 flows_dir: Path) -> None:
    """Vouch for PERSON's waiting key with the registrar's countersignature (check their
    identity first: this is what makes the key theirs)."""
    from .service import keys as service_keys

    ws = _workspace(flows_dir, archive_dir, definitions_only=True)
    kid = _call(service_keys.approve, ws, person, registrar, _passphrase(passphrase_file))
    click.echo(f"{person}: key {kid} vouched for by {registrar}")


@keys.command("revoke")
@click.argument("person")
@click.option("--as", "by", help="A registrar revoking PERSON's key (default: PERSON).")
@signing_options
def keys_revoke(person: str, by: str | None, archive_dir: Path, passphrase_file: Path | None,
                flows_dir: Path) -> None:
    """Revoke PERSON's key: earlier signatures stay verifiable, new ones are refused."""
    from .service import keys as service_keys

    ws = _workspace(flows_dir, archive_dir, definitions_only=True)
    kid = _call(service_keys.revoke, ws, person, _passphrase(passphrase_file), by)
    click.echo(f"{person}: key {kid} revoked")


@record.command("submit")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--as", "person", required=True, help="The applicant, who signs the record.")
@click.option("--choose", "chosen", multiple=True, metavar="LANE=PERSON",
              help="The approver the applicant names for a lane of approver: chosen.")
@signing_options
def record_submit(file: Path, person: str, chosen: tuple[str, ...], archive_dir: Path,
                  passphrase_file: Path | None, flows_dir: Path) -> None:
    """Check FILE (a filled form, or YAML/JSON), open a record, print its number."""
    from .service import records

    ws = _workspace(flows_dir, archive_dir)
    prepared = _call(records.prepare, ws, [file], person,
                     _call(records.parse_changes, chosen, option="--choose"))
    click.echo(_call(records.submit, ws, prepared, person, _passphrase(passphrase_file)))


@record.command("import")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--as", "person", required=True, help="Who prepared the records and signs them.")
@signing_options
def record_import(folder: Path, person: str, archive_dir: Path, passphrase_file: Path | None,
                  flows_dir: Path) -> None:
    """Submit every record (YAML, JSON or filled PDF) in FOLDER as one batch, all or nothing."""
    from .service import records

    ws = _workspace(flows_dir, archive_dir)
    prepared = _call(records.prepare, ws, records.record_files(folder), person,
                     suffix="; nothing imported")
    numbers = _call(records.import_records, ws, prepared, person, _passphrase(passphrase_file))
    click.echo(f"imported {len(numbers)} record(s): {numbers[0]} … {numbers[-1]}"
               if numbers else "nothing to import")


@record.command("sign")
@click.argument("number")
@click.option("--step", required=True)
@click.option("--as", "person", required=True)
@click.option("--decision", required=True)
@click.option("--comment", default="")
@signing_options
def record_sign(number: str, step: str, person: str, decision: str, comment: str,
                archive_dir: Path, passphrase_file: Path | None, flows_dir: Path) -> None:
    """Sign one step of an open record."""
    from .service import records

    ws = _workspace(flows_dir, archive_dir)
    state = _call(records.sign, ws, number, step, person, _passphrase(passphrase_file), decision,
                  comment)
    click.echo(f"{number}: {state.status}")


@record.command("correct")
@click.argument("number")
@click.option("--as", "person", required=True, help="The applicant.")
@click.option("--set", "changes", multiple=True, metavar="FIELD=VALUE", required=True)
@click.option("--reason", required=True)
@signing_options
def record_correct(number: str, person: str, changes: tuple[str, ...], reason: str,
                   archive_dir: Path, passphrase_file: Path | None, flows_dir: Path) -> None:
    """Correct field values of an open record (a new signed event; the old values stay)."""
    from .service import records

    pairs = _call(records.parse_changes, changes)
    ws = _workspace(flows_dir, archive_dir)
    state = _call(records.correct, ws, number, person, _passphrase(passphrase_file), pairs,
                  reason)
    click.echo(f"{number}: corrected ({state.status})")


@record.command("void")
@click.argument("number")
@click.option("--as", "person", required=True, help="The applicant.")
@click.option("--reason", required=True)
@signing_options
def record_void(number: str, person: str, reason: str, archive_dir: Path,
                passphrase_file: Path | None, flows_dir: Path) -> None:
    """Void a record (a signed event; the record and its history stay)."""
    from .service import records

    ws = _workspace(flows_dir, archive_dir)
    _call(records.void, ws, number, person, _passphrase(passphrase_file), reason)
    click.echo(f"{number}: void")


@record.command("return")
@click.argument("number")
@click.option("--step", required=True, help="The step the record waits for.")
@click.option("--to", "target", required=True,
              help="The step to send it back to: the start (the applicant) or an earlier step "
                   "the step's exits loop back to.")
@click.option("--as", "person", required=True)
@click.option("--reason", required=True)
@signing_options
def record_return(number: str, step: str, target: str, person: str, reason: str,
                  archive_dir: Path, passphrase_file: Path | None, flows_dir: Path) -> None:
    """退回: send a record back for rework (the signatures so far stay in its history)."""
    from .service import records

    ws = _workspace(flows_dir, archive_dir)
    state = _call(records.return_step, ws, number, step, target, person,
                  _passphrase(passphrase_file), reason)
    click.echo(f"{number}: {state.status}")


@record.command("resubmit")
@click.argument("number")
@click.option("--as", "person", required=True, help="The applicant.")
@click.option("--set", "changes", multiple=True, metavar="FIELD=VALUE")
@click.option("--reason", default="")
@signing_options
def record_resubmit(number: str, person: str, changes: tuple[str, ...], reason: str,
                    archive_dir: Path, passphrase_file: Path | None, flows_dir: Path) -> None:
    """Send a record returned to its applicant on again, with changed values or none."""
    from .service import records

    pairs = _call(records.parse_changes, changes)
    ws = _workspace(flows_dir, archive_dir)
    state = _call(records.resubmit, ws, number, person, _passphrase(passphrase_file), pairs,
                  reason)
    click.echo(f"{number}: {state.status}")


@record.command("withdraw")
@click.argument("number")
@click.option("--as", "person", required=True, help="The applicant.")
@click.option("--reason", required=True)
@signing_options
def record_withdraw(number: str, person: str, reason: str, archive_dir: Path,
                    passphrase_file: Path | None, flows_dir: Path) -> None:
    """撤销: withdraw a record before anyone has decided on it."""
    from .service import records

    ws = _workspace(flows_dir, archive_dir)
    state = _call(records.withdraw, ws, number, person, _passphrase(passphrase_file), reason)
    click.echo(f"{number}: {state.status}")


@record.command("transfer")
@click.argument("number")
@click.option("--step", required=True, help="The step the record waits for.")
@click.option("--to", "to", required=True, help="Another holder of the same authority.")
@click.option("--as", "person", required=True)
@click.option("--reason", required=True)
@signing_options
def record_transfer(number: str, step: str, to: str, person: str, reason: str,
                    archive_dir: Path, passphrase_file: Path | None, flows_dir: Path) -> None:
    """转交: hand the step you are asked to sign to another holder of its authority."""
    from .service import records

    ws = _workspace(flows_dir, archive_dir)
    _call(records.transfer, ws, number, step, to, person, _passphrase(passphrase_file), reason)
    click.echo(f"{number}: {step} → {to}")


@main.command()
@click.option("--as", "person", required=True, help="Who is away.")
@click.option("--to", "deputy", required=True, help="Who signs for them.")
@click.option("--from", "start", required=True, metavar="YYYY-MM-DD")
@click.option("--until", required=True, metavar="YYYY-MM-DD")
@click.option("--reason", default="")
@signing_options
def delegate(person: str, deputy: str, start: str, until: str, reason: str, archive_dir: Path,
             passphrase_file: Path | None, flows_dir: Path) -> None:
    """代理: name a deputy who signs for you from one day to another (both included)."""
    from .service import records

    ws = _workspace(flows_dir, archive_dir)
    _call(records.delegate, ws, person, deputy, start, until, _passphrase(passphrase_file),
          reason)
    click.echo(f"{deputy} signs for {person} from {start} until {until}")


@record.command("waiting")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@archive_option
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path))
def record_waiting(number: str, as_json: bool, archive_dir: Path, flows_dir: Path) -> None:
    """Which step a record waits for, who may sign it now and why, and who it is copied to."""
    from .service import records

    ws = _workspace(flows_dir, archive_dir)
    found = _call(records.waiting, ws, number)
    s = found.signers
    if as_json:
        click.echo(json.dumps({
            "record": number, "status": found.state.status,
            "step": s and s.step, "rule": s and s.rule, "people": list(s.people) if s else [],
            "deputies": [list(d) for d in s.deputies] if s else [],
            "needed": s.needed if s else 0, "signed": list(s.signed) if s else [],
            "copied_to": list(found.copied_to)}, ensure_ascii=False, indent=2))
        return
    click.echo(f"{number}　{found.flow.code} {found.flow.name}　{found.state.status}")
    if s is not None:
        votes = f"（会签：已 {len(s.signed)}，尚需 {s.needed}）" if s.signed or s.needed > 1 else ""
        click.echo(f"  待 {s.text}（{s.lane}）{votes}: {s.shown() or '（无人可签）'}")
        click.echo(f"  依据: {s.rule}")
    if found.copied_to:
        click.echo("  抄送: " + "、".join(found.copied_to))


@record.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@archive_option
def record_show(number: str, as_json: bool, archive_dir: Path) -> None:
    """A record with its values, full history and signatures."""
    from .service import records

    state = _call(records.show, archive_dir, number)
    if as_json:
        click.echo(json.dumps(state.as_dict(), ensure_ascii=False, indent=2))
        return
    # one line per value and per event, whatever the values hold: a reason with a newline
    # must not print a history line of its own, nor an ESC sequence recolour the ones above
    click.echo(visible(f"{state.number}　{state.flow_code}（{state.revision}）　{state.status}"))
    for key, value in state.fields.items():
        click.echo(visible(f"  {key}: {value}"))
    for e in state.history:
        who = e.get("person") or e.get("applicant")
        if e.get("on_behalf"):
            who = f"{who}（代 {e['on_behalf']}）"
        click.echo(visible(f"  [{e['seq']}] {e['time']} {e['type']} {e.get('step', '')} "
                           f"{e.get('decision') or e.get('to') or ''} {who or ''} 签名 "
                           f"{e['sig']['value'][:16]}…"))


@record.command("export")
@click.argument("number")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path))
@archive_option
def record_export(number: str, output: Path, archive_dir: Path) -> None:
    """Write the archived rendition (PDF) of a closed record."""
    from .service import records

    write_atomic(output, _call(records.rendition, archive_dir, number))
    click.echo(str(output))


@main.command()
@archive_option
@click.option("--proof", "proof_of", help="Print the inclusion proof of this record.")
@click.option("--since", type=click.Path(path_type=Path),
              help="A checkpoint kept earlier (flowdoc checkpoint): report a rollback or fork, "
                   "and print the consistency proof from it.")
@click.option("--package", "package", type=click.Path(path_type=Path),
              help="Check an audit package (from flowdoc search --export) offline instead.")
@click.option("--checkpoint", "kept", type=click.Path(path_type=Path),
              help="With --package: a checkpoint you kept, to check the package against.")
@click.option("--renditions", is_flag=True,
              help="Render every closed record again and compare it byte for byte with its "
                   "archived PDF (10-20 ms a record; by default the state digest the PDF "
                   "carries is compared).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path),
              help="The flows folder whose trust.yaml, keys.yaml and org.yaml are trusted.")
def verify(archive_dir: Path, proof_of: str | None, since: Path | None, package: Path | None,
           kept: Path | None, renditions: bool, as_json: bool, flows_dir: Path) -> None:
    """Prove the archive unaltered and every record consistent with its flow; exit 1 naming
    each problem, by 真实性 / 完整性 / 可用性 / 安全性."""
    if package is not None:
        _verify_package(package, as_json, flows_dir, kept)
        return
    from .service import audit, open_workspace
    from .service.words import PROPERTIES

    kept_raw = _kept(since)
    # verify runs whatever the working copy holds: a broken keys.yaml or org.yaml is one more
    # finding (what it vouched for counts as unvouched), never a reason not to look at the log
    ws = open_workspace(flows_dir, archive_dir, strict=False)
    result = _call(audit.verify, ws, proof_of, kept_raw, str(since), renditions)
    report, notes = result.report, result.notes
    out: dict = {"entries": report.entries, "records": report.records}
    if result.inclusion is not None:
        out["inclusion"] = result.inclusion
    if result.consistency is not None:
        out["consistency"] = result.consistency
    out = {"ok": report.ok, **out,
           "findings": [{"property": p, "problem": m} for p, m in report.findings],
           "notes": notes}
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for prop in PROPERTIES:
            problems = [m for p, m in report.findings if p == prop]
            click.echo(f"{prop}: " + ("通过" if not problems else f"{len(problems)} 个问题"))
            for m in problems:
                click.echo(visible(f"  - {m}"))
        for note in notes:
            click.echo(visible(f"note: {note}"))
        click.echo(f"{report.entries} entries, {report.records} records"
                   + (f", root {report.checkpoint.root[:16]}…" if report.checkpoint else ""))
        for key in ("inclusion", "consistency"):
            if key in out:
                click.echo(json.dumps(out[key], ensure_ascii=False))
    sys.exit(0 if report.ok else 1)


@main.command("checkpoint")
@archive_option
def checkpoint_cmd(archive_dir: Path) -> None:
    """Print the archive's current signed checkpoint, for an auditor to keep and give back to
    flowdoc verify --since (a shorter or different history is then reported)."""
    from .service import audit

    click.echo(_call(audit.checkpoint, archive_dir).decode())


@main.group("archive")
def archive_group() -> None:
    """The archive's stores: a folder (the default) or PostgreSQL."""


@archive_group.command("init")
@click.argument("url")
@click.option("--app-role", default="flowdoc_app", show_default=True,
              help="The role given INSERT and SELECT only (grant it to the servers' logins).")
def archive_init(url: str, app_role: str) -> None:
    """Create or migrate a PostgreSQL archive's schema (as its owner), e.g.
    flowdoc archive init postgresql://owner@db.example/flowdoc"""
    from .service import stores

    click.echo(_call(stores.init_store, url, app_role))


@archive_group.command("copy")
@click.option("--from", "source", required=True, type=ArchiveLocation(),
              help="The archive to copy: a folder or a postgresql:// URL.")
@click.option("--to", "destination", required=True, type=ArchiveLocation(),
              help="Where to: a folder or a postgresql:// URL (empty, or a shorter copy).")
def archive_copy(source, destination) -> None:
    """Copy an archive between stores, byte for byte (resumable; a destination holding a
    different history is refused)."""
    from .service import stores

    done = _call(stores.copy, source, destination)
    click.echo(f"copied {done.entries} entries, {done.checkpoints} checkpoints, "
               f"{done.cosignatures} co-signatures, {done.blobs} blobs, {done.keys} keys; the "
               f"destination holds {done.size} entries")


@main.command("witness")
@click.option("--key", "key_file", required=True, type=click.Path(path_type=Path),
              help="The witness's key file (made by flowdoc trust add --role witness).")
@click.option("--state", "state_file", required=True, type=click.Path(path_type=Path),
              help="Where the witness keeps the last checkpoint it co-signed (not in the "
                   "archive).")
@archive_option
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path))
def witness_cmd(key_file: Path, state_file: Path, archive_dir: Path, flows_dir: Path) -> None:
    """Co-sign the archive's checkpoint after checking it extends the last one this witness
    co-signed (FLOWDOC_WITNESS_PASSPHRASE unlocks the key)."""
    from .service import audit

    ws = _workspace(flows_dir, archive_dir, definitions_only=True)
    secret = _secret_from_env("FLOWDOC_WITNESS_PASSPHRASE")
    if secret is None:
        if not sys.stdin.isatty():
            click.echo("flowdoc: no passphrase: set FLOWDOC_WITNESS_PASSPHRASE", err=True)
            sys.exit(1)
        secret = click.prompt("witness passphrase", hide_input=True, err=True)
    cosigned = _call(audit.witness, ws, key_file, secret, state_file)
    cp = cosigned["checkpoint"]
    click.echo(f"co-signed checkpoint of {cp['size']} entries, root {cp['root'][:16]}…")


@main.group()
def trust() -> None:
    """The root of trust (flows/trust.yaml): registrars, operator keys, witnesses."""


@trust.command("init")
@click.option("--as", "person", required=True, help="The first registrar (e.g. the 文控).")
@signing_options
def trust_init(person: str, archive_dir: Path, passphrase_file: Path | None,
               flows_dir: Path) -> None:
    """Start a trust root: PERSON's registrar key (their passphrase) and the archive's operator
    key (FLOWDOC_OPERATOR_PASSPHRASE). Commit flows/trust.yaml and have it reviewed."""
    from .service import keys as service_keys

    ws = _workspace(flows_dir, archive_dir, definitions_only=True)
    operator_secret = _secret_from_env("FLOWDOC_OPERATOR_PASSPHRASE")
    if operator_secret is None:
        click.echo("flowdoc: set FLOWDOC_OPERATOR_PASSPHRASE: it protects the operator key",
                   err=True)
        sys.exit(1)
    secret = _passphrase(passphrase_file, confirm=True)
    root = _call(service_keys.trust_init, ws, person, secret, operator_secret)
    click.echo(f"{service_keys.trust_path(ws)}: registrar {person} ({root.keys[0].id}), "
               f"operator {root.keys[1].id}")


@trust.command("add")
@click.option("--role", required=True, type=click.Choice(["registrar", "operator", "witness"]))
@click.option("--holder", required=True,
              help="For a registrar the person (their vouched key is promoted); else a name.")
@click.option("--key-file", type=click.Path(path_type=Path),
              help="For an operator or witness: where its new key file is written (its "
                   "passphrase: FLOWDOC_NEW_KEY_PASSPHRASE).")
@click.option("--as", "registrar", required=True, help="A registrar in office, who signs.")
@signing_options
def trust_add(role: str, holder: str, key_file: Path | None, registrar: str, archive_dir: Path,
              passphrase_file: Path | None, flows_dir: Path) -> None:
    """Add a registrar, operator or witness key to the trust root, signed by a registrar."""
    from .service import keys as service_keys

    ws = _workspace(flows_dir, archive_dir, definitions_only=True)
    new_secret = _secret_from_env("FLOWDOC_NEW_KEY_PASSPHRASE") if role != "registrar" else None
    if role != "registrar" and (new_secret is None or key_file is None):
        click.echo(f"flowdoc: a new {role} key needs --key-file and FLOWDOC_NEW_KEY_PASSPHRASE",
                   err=True)
        sys.exit(2)
    kid = _call(service_keys.trust_add, ws, registrar, _passphrase(passphrase_file), role, holder,
                new_secret, key_file)
    click.echo(f"{service_keys.trust_path(ws)}: {role} {holder} ({kid}) added by {registrar}")


@trust.command("remove")
@click.argument("key_id")
@click.option("--as", "registrar", required=True)
@signing_options
def trust_remove(key_id: str, registrar: str, archive_dir: Path, passphrase_file: Path | None,
                 flows_dir: Path) -> None:
    """Remove a key from the trust root; what it signed before stays valid."""
    from .service import keys as service_keys

    ws = _workspace(flows_dir, archive_dir, definitions_only=True)
    _call(service_keys.trust_remove, ws, registrar, _passphrase(passphrase_file), key_id)
    click.echo(f"{service_keys.trust_path(ws)}: {key_id} removed by {registrar}")


@trust.command("show")
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def trust_show(flows_dir: Path, as_json: bool) -> None:
    """The keys of the trust root and whether its chain holds."""
    from .service import keys as service_keys

    root = service_keys.trust_show(flows_dir)
    rows = [{"role": k.role, "holder": k.holder, "key": k.id, "since": k.since,
             "until": k.until} for k in root.keys]
    if as_json:
        click.echo(json.dumps({"ok": not root.problems, "keys": rows,
                               "problems": list(root.problems)}, ensure_ascii=False, indent=2))
    else:
        for r in rows:
            click.echo(f"{r['role']:<9} {r['holder']}　{r['key']}　{r['since']}"
                       + (f" – {r['until']}" if r["until"] else ""))
        for p in root.problems:
            click.echo(f"flowdoc: {p}", err=True)
    sys.exit(1 if root.problems else 0)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--behind-proxy", is_flag=True,
              help="Trust X-Forwarded-Proto/For from a proxy in front (nginx, IIS) that ends TLS.")
@click.option("--build", "build_dir", default=Path("build"), show_default=True,
              type=click.Path(path_type=Path),
              help="Where the publication is built from the web page and downloaded from.")
@click.option("--session-secret-file", "secret_file", envvar="FLOWDOC_SESSION_SECRET_FILE",
              type=click.Path(path_type=Path),
              help="A file of at least 32 random bytes that signs session cookies; give every "
                   "server behind one load balancer the same (default: one kept with the archive "
                   "on this machine).")
@archive_option
@flows_option
def serve(host: str, port: int, behind_proxy: bool, build_dir: Path, secret_file: Path | None,
          archive_dir: Path, flows_dir: Path) -> None:
    """Serve the web application (waitress): staff fill and sign, auditors search and export,
    document controllers see the flows. The archive's operator passphrase comes from
    FLOWDOC_OPERATOR_PASSPHRASE (or _FILE), as for every command that writes."""
    from waitress import serve as waitress_serve

    from .service import people
    from .web import create_app

    _workspace(flows_dir, archive_dir, warn=True)  # stop here on broken flows, as all commands
    secret_key = _call(people.session_secret_from, secret_file) if secret_file else None
    app = _call(create_app, flows_dir, archive_dir,
                operator_passphrase=_secret_from_env("FLOWDOC_OPERATOR_PASSPHRASE"),
                behind_proxy=behind_proxy, build_dir=build_dir, warm=True,
                secret_key=secret_key)
    click.echo(f"flowdoc: serving {flows_dir} and {archive_dir} at http://{host}:{port}/ "
               "(Ctrl-C stops)")
    waitress_serve(app, host=host, port=port, threads=8, ident="flowdoc")


@main.group()
def users() -> None:
    """People of the web application."""


@users.command("invite")
@click.argument("person")
@click.option("--url", "base_url", default="http://127.0.0.1:8000", show_default=True,
              help="Where the web application is reached.")
@archive_option
@flows_option
def users_invite(person: str, base_url: str, archive_dir: Path, flows_dir: Path) -> None:
    """Print a one-time enrolment link for PERSON (valid 72 hours, usable once): they open
    it, choose their passphrase, and a registrar then approves their new key."""
    from .service import people

    ws = _workspace(flows_dir, archive_dir, definitions_only=True)
    token = _call(people.invite, ws, person)
    click.echo(f"{base_url.rstrip('/')}/enrol/{token}")


@main.group()
def org() -> None:
    """Document control of org.yaml (who may sign what)."""


@org.command("sign")
@click.option("--as", "person", required=True)
@click.option("--meaning", required=True, type=click.Choice(["编制", "审核", "批准"]))
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path))
@archive_option
@passphrase_option
def org_sign(person: str, meaning: str, on, flows_dir: Path, archive_dir: Path,
             passphrase_file: Path | None) -> None:
    """Sign org.yaml's 编制/审核/批准 with PERSON's vouched key, bound to its content: records
    are archived only under a signed-off org.yaml."""
    from .service import documents

    ws = _workspace(flows_dir, archive_dir)
    done = _call(documents.sign_org, ws, person, meaning, lambda: _passphrase(passphrase_file),
                 on.date() if on else None)
    click.echo(f"org.yaml: {meaning} by {person} signed with key {done.key_id[:12]}… "
               f"({done.state})")


@main.command()
@click.argument("query", default="")
@click.option("--flow", "flow_code", help="Only records of this flow code.")
@click.option("--signer", help="Only records this person signed (applicant included).")
@click.option("--status", help="办理中/已完成/已驳回/已作废/已退回/已撤销 "
              "(in_progress/complete/rejected/void/returned/withdrawn).")
@click.option("--dept", help="Only records of this department.")
@click.option("--from", "date_from", metavar="DATE", help="Created on or after (YYYY[-MM[-DD]]).")
@click.option("--to", "date_to", metavar="DATE", help="Created on or before (YYYY[-MM[-DD]]).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--page", default=1, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--oldest-first", is_flag=True, help="Sort by date ascending (default: newest first).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True)
@click.option("--xlsx", "xlsx_to", type=click.Path(path_type=Path),
              help="Write the page of results as an Excel workbook to this file.")
@click.option("--export", "export_to", type=click.Path(path_type=Path),
              help="Write every matching record as an audit package (zip) verifiable offline.")
@click.option("--reindex", is_flag=True, help="Rebuild the index from the archive first.")
@click.option("--backend", type=click.Choice(["whoosh", "tantivy"]), default="whoosh",
              envvar="FLOWDOC_SEARCH_BACKEND", show_default=True)
@archive_option
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path))
def search(query: str, flow_code: str | None, signer: str | None, status: str | None,
           dept: str | None, date_from: str | None, date_to: str | None, limit: int, page: int,
           oldest_first: bool, as_json: bool, as_csv: bool, xlsx_to: Path | None,
           export_to: Path | None, reindex: bool,
           backend: str, archive_dir: Path, flows_dir: Path) -> None:
    """Find archived records by content, person, flow, status, department and date.

    QUERY: terms (all must match; Chinese matches as exact substrings), "quoted terms", OR,
    -term or NOT term, (brackets), and fields flow: signer: status: dept: lane: meaning:
    decision: id: (id:PREFIX* for prefixes) created:FROM..TO signed:FROM..TO.

    A QUERY that starts with - (-作废: without 作废) goes after --, which ends the options:

    \b
      flowdoc search -- -作废
    """
    from .service import audit

    tree = _call(audit.query_tree, query, audit.Filters(flow_code, signer, status, dept,
                                                         date_from, date_to))
    ws = _workspace(flows_dir, archive_dir)
    index = _call(audit.open_index, ws, backend)
    _call(_update_index, index, reindex)
    if export_to is not None:
        from .service.words import COMPLETENESS

        count = _call(audit.export, ws, index, tree, query, export_to, not oldest_first)
        click.echo(f"{export_to}: {count} record(s); check it with flowdoc verify --package {export_to}")
        click.echo(COMPLETENESS)
        return
    results = _call(audit.search, index, tree, limit, page, not oldest_first)

    if as_json:
        click.echo(json.dumps({"total": results.total, "page": page, "limit": limit,
                               "hits": [h.as_dict() for h in results.hits]},
                              ensure_ascii=False, indent=2))
    elif xlsx_to is not None:
        write_atomic(xlsx_to, audit.results_xlsx(results))
        click.echo(f"{xlsx_to}: {len(results.hits)} of {results.total} record(s)")
    elif as_csv:  # UTF-8 with a BOM, so that Excel opens it with the Chinese intact
        click.echo(audit.results_csv(results).decode("utf-8"), nl=False)
    else:
        first = (page - 1) * limit
        shown = f"{first + 1}–{first + len(results.hits)}" if results.hits else "none"
        click.echo(f"{results.total} record(s); showing {shown}")
        for h in results.hits:
            click.echo(visible(f"{h.number}　{h.flow_name}　{h.status_text}"
                               f"　{h.applicant}　{h.created[:10]}"))
            click.echo(visible(f"    {h.snippet}"))


def _update_index(index, rebuild: bool) -> None:
    """Catch the index up (or rebuild it), with a progress bar on a terminal."""
    checkpoint = index.archive.checkpoint()
    pending = index.pending() if not rebuild else (checkpoint.size if checkpoint else 0)
    if not sys.stderr.isatty() or pending < 1000:
        (index.reindex if rebuild else index.catch_up)()
        return
    with click.progressbar(length=pending, label="indexing", file=sys.stderr) as bar:
        (index.reindex if rebuild else index.catch_up)(bar.update)


def _kept(path: Path | None) -> bytes | None:
    """The bytes of a checkpoint the user kept (exit 2 naming the file if it cannot be read;
    what it holds is verify's to judge, as a finding)."""
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        click.echo(f"flowdoc: {path}: cannot read the kept checkpoint: {exc.strerror}", err=True)
        sys.exit(2)


def _verify_package(path: Path, as_json: bool, flows_dir: Path, kept: Path | None) -> None:
    """The package checked against the trust root of ``flows_dir`` (or a kept checkpoint), both
    from outside the package; with neither, against what it carries, and the first line says
    so."""
    from .service.words import COMPLETENESS

    kept_raw = _kept(kept)
    from .service import audit

    report = audit.verify_package(flows_dir, path, kept_raw)
    records = sorted(report.manifest.get("records", {}))
    problems = report.problems
    if as_json:
        click.echo(json.dumps({"ok": not problems, "checked_against": report.anchor,
                               "independent": report.independent, "records": records,
                               "problems": problems, "completeness": COMPLETENESS,
                               "checkpoint": report.manifest.get("checkpoint")},
                              ensure_ascii=False, indent=2))
    else:
        click.echo(f"checked against {report.anchor}")
        for p in problems:
            click.echo(visible(f"  - {p}"))
        root = (report.manifest.get("checkpoint") or {}).get("root", "")
        click.echo(f"{path}: " + ("通过" if not problems else f"{len(problems)} 个问题") +
                   f"; {len(records)} record(s)" + (f", checkpoint root {root[:16]}…" if root else ""))
        click.echo(COMPLETENESS)
    sys.exit(0 if not problems else 1)


def run() -> None:  # pragma: no cover - console entry point wrapper
    """The ``flowdoc`` command (and ``python -m generator``).

    Whatever the command, the objects it leaves are frozen out of the garbage collector
    before the interpreter ends: its last collections, over everything a build made, took
    0.15 s after the work was done, to free memory the process gives back anyway."""
    import gc

    try:
        main(standalone_mode=True)
    except FlowdocError as exc:
        click.echo(visible(f"flowdoc: {exc}"), err=True)
        sys.exit(1)
    finally:
        gc.freeze()
