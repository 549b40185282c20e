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
from .fileio import write_atomic
from .model import Library

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
        warnings = len(result.problems)
        click.echo(f"ok: {result.files} flow file(s) checked, "
                   + (f"{warnings} warning(s)" if warnings else "no problems"))
    sys.exit(0 if result.ok else 1)


def _checked_library(flows_dir: Path, quiet: bool = False) -> Library:
    """The library, or exit 1 with every problem printed: nothing is written from bad input."""
    result = check_paths([flows_dir])
    if not result.ok:
        _report(result, False)
        click.echo(f"stopped: {len(result.errors)} problem(s) in {flows_dir}; nothing was written",
                   err=True)
        sys.exit(1)
    if not quiet:
        _report(result, False)  # warnings: the build goes on, and says what it prints as 草稿
    return result.library


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
    if (copy_number is None) != (holder is None):
        click.echo("flowdoc: --copy and --holder go together: a controlled copy has a number and "
                   "a holder", err=True)
        sys.exit(2)
    from .buildstamp import inputs_digest, options_text, up_to_date

    templates = templates_dir or flows_dir.resolve().parent / "templates"
    digest = inputs_digest([flows_dir, templates], options_text(copy_number, holder))
    if up_to_date(out_dir, digest):  # the last build read exactly these inputs
        click.echo(f"{out_dir}: up to date (inputs unchanged since the last build)")
        return
    library = _checked_library(flows_dir)
    from .manual import Copy
    from .publish import build as publish

    try:
        result = publish(library, out_dir, templates, flows_dir, Copy(copy_number, holder),
                         progress=_progress)
    except FlowdocError as exc:
        click.echo(f"flowdoc: {exc}", err=True)
        sys.exit(1)
    if result.skipped:
        click.echo(f"{out_dir}: up to date (inputs unchanged since the last build)")
        return
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"checked {len(library.flows)} flows; wrote {len(result.written)} file(s) to "
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
    library = _checked_library(flows_dir)
    try:
        flow = library.flow(code)
    except KeyError:
        known = ", ".join(f.code for f in library.flows)
        click.echo(f"flowdoc: no flow with code '{code}' (known: {known})", err=True)
        sys.exit(1)
    from .diagram import layout, outputs

    target = output or Path(f"{code}.{fmt}")
    files = outputs(layout(flow), fmt, target.stem if target.suffix else target.name)
    for name, data in files:
        write_atomic(target.with_name(name), data)
        click.echo(str(target.with_name(name)))


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
@click.option("--archive", "archive_dir", default=Path("records"), type=click.Path(path_type=Path),
              show_default=True, help="The archive holding the signer's key.")
@click.option("--passphrase-file", type=click.Path(path_type=Path),
              help="Read the passphrase from this file (else FLOWDOC_PASSPHRASE, else a prompt).")
def flow_sign(code: str, person: str, meaning: str, on, flows_dir: Path, archive_dir: Path,
              passphrase_file: Path | None) -> None:
    """Sign CODE's 编制/审核/批准 with PERSON's own key, bound to the hash of its content as it
    is now; the key's public half goes into keys.yaml beside the flows if it is not there."""
    from .lifecycle import SignError, sign_file, signed, unlock_signer

    library = _checked_library(flows_dir)
    try:
        target = library.flow(code)
    except KeyError:
        click.echo(f"flowdoc: no flow with code '{code}'", err=True)
        sys.exit(1)
    assert library.org is not None
    day = on.date() if on else None
    try:
        # the sign-off rules first: a signature that would be refused asks for no passphrase
        signed(target, library.org, person, meaning, day or _today())
        signer = unlock_signer(archive_dir, person, _passphrase(passphrase_file))
        signoff = sign_file(Path(target.origin.source), target, library.org, person, meaning,
                            signer, day)
    except FlowdocError as exc:
        message = str(exc) if isinstance(exc, SignError) else f"{person}: {exc}"
        click.echo(f"flowdoc: {code}: {message}", err=True)
        sys.exit(1)
    state = "受控" if signoff.bound_to(target.content_hash) and target.status == "受控" else (
        "complete" if signoff.complete else "incomplete")
    click.echo(f"{code}: {meaning} by {person} signed with key {signer.key.id[:12]}…, bound to "
               f"{target.content_hash[:12]}… ({state})")


def _today():
    import datetime as dt

    return dt.date.today()


@main.command()
@click.argument("code")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Default: CODE.pdf here.")
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path),
              show_default=True)
@click.option("--templates", "templates_dir", type=click.Path(path_type=Path),
              help="Templates (default: templates/ beside flows/).")
def form(code: str, output: Path | None, flows_dir: Path, templates_dir: Path | None) -> None:
    """Write one flow's fillable PDF form (A4 AcroForm that types Chinese)."""
    from .forms import make_form

    library = _checked_library(flows_dir, quiet=True)
    try:
        flow = library.flow(code)
    except KeyError:
        click.echo(f"flowdoc: no flow with code '{code}'", err=True)
        sys.exit(1)
    try:
        data = make_form(flow, templates_dir or flows_dir.resolve().parent / "templates",
                         library.manual.company if library.manual else None)
    except FlowdocError as exc:
        click.echo(f"flowdoc: {exc}", err=True)
        sys.exit(1)
    target = output or Path(f"{code}.pdf")
    write_atomic(target, data)
    click.echo(str(target))


@main.group()
def record() -> None:
    """Records: one filled instance of a flow."""


@record.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--as", "applicant", help="Who applies (the applicant may not approve it).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path),
              show_default=True)
def record_check(file: Path, applicant: str | None, as_json: bool, flows_dir: Path) -> None:
    """Check a record (YAML or JSON) against its flow, archiving nothing: typed values, problems,
    the path it will take and who may sign each step on it. Exit 0 if acceptable."""
    from dataclasses import replace

    from .records import RecordInputError, check_record, read_record

    library = _checked_library(flows_dir, quiet=True)
    try:
        data = read_record(file, {f.code: f for f in library.flows})
    except RecordInputError as exc:
        click.echo(f"flowdoc: {exc}", err=True)
        sys.exit(1)
    if applicant:
        data = replace(data, applicant=applicant)
    try:
        flow = library.flow(data.flow)
    except KeyError:
        click.echo(f"flowdoc: {file}: no flow with code '{data.flow}'", err=True)
        sys.exit(1)
    assert library.org is not None
    result = check_record(flow, library.org, data)
    if as_json:
        click.echo(json.dumps(_record_json(result), ensure_ascii=False, indent=2, default=str))
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
        "signers": [{"step": s.step, "text": s.text, "lane": s.lane, "people": list(s.people),
                     "anyone": s.anyone} for s in result.signers],
    }


def _print_record(result, file: Path) -> None:
    for where, message in result.problems:
        click.echo(f"{file}: {where}: {message}", err=True)
    flow = result.flow
    click.echo(f"{flow.code} {flow.name}（{flow.revision}）")
    for f in flow.fields:
        value = result.values.get(f.id)
        if value not in (None, [], ()):
            click.echo(f"  {f.label}: {value}{f.unit or ''}")
    if result.route:
        names = [flow.step(s).text for s in result.route.steps]
        tail = ""
        if result.route.outcome == "pending" and result.route.waiting_for:
            step = flow.step(result.route.waiting_for)
            tail = f" …（取决于 {step.text}：{'/'.join(step.decisions)}）"
        click.echo("  路径: " + " → ".join(names) + tail)
    for s in result.signers:
        who = "任何员工" if s.anyone else "、".join(s.people) or "（无人可签）"
        click.echo(f"  {s.text}（{s.lane}）: {who}")
    click.echo("ok" if result.ok else f"{len(result.problems)} problem(s)")


DEFAULT_ARCHIVE = Path("records")
archive_option = click.option("--archive", "archive_dir", default=DEFAULT_ARCHIVE,
                              type=click.Path(path_type=Path), show_default=True,
                              help="The archive folder.")
passphrase_option = click.option("--passphrase-file", type=click.Path(path_type=Path),
                                 help="Read the passphrase from this file (else "
                                      "FLOWDOC_PASSPHRASE, else a prompt).")


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
    if os.environ.get("FLOWDOC_PASSPHRASE"):
        return os.environ["FLOWDOC_PASSPHRASE"]
    if not sys.stdin.isatty():
        click.echo("flowdoc: no passphrase: give --passphrase-file or FLOWDOC_PASSPHRASE",
                   err=True)
        sys.exit(1)
    return click.prompt("passphrase", hide_input=True, confirmation_prompt=confirm, err=True)


def _archive_call(fn, *args):
    try:
        return fn(*args)
    except FlowdocError as exc:
        click.echo(f"flowdoc: {exc}", err=True)
        sys.exit(1)


@main.group()
def keys() -> None:
    """Personal signing keys (Ed25519, encrypted with the owner's passphrase)."""


@keys.command("new")
@click.argument("person")
@archive_option
@passphrase_option
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path))
def keys_new(person: str, archive_dir: Path, passphrase_file: Path | None, flows_dir: Path) -> None:
    """Make PERSON's signing key and register its public half in the archive."""
    from .archive.records import new_person_key
    from .archive.store import Archive

    library = _checked_library(flows_dir, quiet=True)
    secret = _passphrase(passphrase_file, confirm=True)
    kid = _archive_call(new_person_key, Archive(archive_dir), library, person, secret)
    click.echo(f"{person}: key {kid}")


@keys.command("revoke")
@click.argument("person")
@archive_option
@passphrase_option
def keys_revoke(person: str, archive_dir: Path, passphrase_file: Path | None) -> None:
    """Revoke PERSON's key: earlier signatures stay verifiable, new ones are refused."""
    from .archive.records import revoke_key
    from .archive.store import Archive

    kid = _archive_call(revoke_key, Archive(archive_dir), person, _passphrase(passphrase_file))
    click.echo(f"{person}: key {kid} revoked")


@record.command("submit")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--as", "person", required=True, help="The applicant, who signs the record.")
@archive_option
@passphrase_option
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path))
def record_submit(file: Path, person: str, archive_dir: Path, passphrase_file: Path | None,
                  flows_dir: Path) -> None:
    """Check FILE (a filled form, or YAML/JSON), open a record, print its number."""
    from .archive.records import submit
    from .archive.store import Archive
    from .records import RecordInputError, read_record

    library = _checked_library(flows_dir, quiet=True)
    try:
        data = read_record(file, {f.code: f for f in library.flows})
    except RecordInputError as exc:
        click.echo(f"flowdoc: {exc}", err=True)
        sys.exit(1)
    secret = _passphrase(passphrase_file)
    number = _archive_call(submit, Archive(archive_dir), library, data, file.read_bytes(), person,
                           secret)
    click.echo(number)


@record.command("import")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--as", "person", required=True, help="Who prepared the records and signs them.")
@archive_option
@passphrase_option
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path))
def record_import(folder: Path, person: str, archive_dir: Path, passphrase_file: Path | None,
                  flows_dir: Path) -> None:
    """Submit every record (YAML, JSON or filled PDF) in FOLDER as one batch, all or nothing."""
    from .archive.records import import_records
    from .archive.store import Archive
    from .records import RecordInputError, read_record

    library = _checked_library(flows_dir, quiet=True)
    flows = {f.code: f for f in library.flows}
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".yaml", ".yml", ".json",
                                                                        ".pdf"))
    items = []
    for path in files:
        try:
            items.append((read_record(path, flows), path.read_bytes()))
        except RecordInputError as exc:
            click.echo(f"flowdoc: {exc}; nothing imported", err=True)
            sys.exit(1)
    numbers = _archive_call(import_records, Archive(archive_dir), library, items, person,
                            _passphrase(passphrase_file))
    click.echo(f"imported {len(numbers)} record(s): {numbers[0]} … {numbers[-1]}"
               if numbers else "nothing to import")


@record.command("sign")
@click.argument("number")
@click.option("--step", required=True)
@click.option("--as", "person", required=True)
@click.option("--decision", required=True)
@click.option("--comment", default="")
@archive_option
@passphrase_option
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path))
def record_sign(number: str, step: str, person: str, decision: str, comment: str,
                archive_dir: Path, passphrase_file: Path | None, flows_dir: Path) -> None:
    """Sign one step of an open record."""
    from .archive.records import sign_step
    from .archive.store import Archive

    library = _checked_library(flows_dir, quiet=True)
    state = _archive_call(sign_step, Archive(archive_dir), library, number, step, person,
                          _passphrase(passphrase_file), decision, comment)
    click.echo(f"{number}: {state.status}")


@record.command("correct")
@click.argument("number")
@click.option("--as", "person", required=True, help="The applicant.")
@click.option("--set", "changes", multiple=True, metavar="FIELD=VALUE", required=True)
@click.option("--reason", required=True)
@archive_option
@passphrase_option
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path))
def record_correct(number: str, person: str, changes: tuple[str, ...], reason: str,
                   archive_dir: Path, passphrase_file: Path | None, flows_dir: Path) -> None:
    """Correct field values of an open record (a new signed event; the old values stay)."""
    from .archive.records import correct
    from .archive.store import Archive

    pairs = {}
    for change in changes:
        field, sep, value = change.partition("=")
        if not sep:
            click.echo(f"flowdoc: --set {change}: write FIELD=VALUE", err=True)
            sys.exit(2)
        pairs[field.strip()] = value
    library = _checked_library(flows_dir, quiet=True)
    state = _archive_call(correct, Archive(archive_dir), library, number, person,
                          _passphrase(passphrase_file), pairs, reason)
    click.echo(f"{number}: corrected ({state.status})")


@record.command("void")
@click.argument("number")
@click.option("--as", "person", required=True, help="The applicant.")
@click.option("--reason", required=True)
@archive_option
@passphrase_option
def record_void(number: str, person: str, reason: str, archive_dir: Path,
                passphrase_file: Path | None) -> None:
    """Void a record (a signed event; the record and its history stay)."""
    from .archive.records import void
    from .archive.store import Archive

    _archive_call(void, Archive(archive_dir), number, person, _passphrase(passphrase_file), reason)
    click.echo(f"{number}: void")


@record.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@archive_option
def record_show(number: str, as_json: bool, archive_dir: Path) -> None:
    """A record with its values, full history and signatures."""
    from .archive.records import record_state
    from .archive.store import Archive

    state = record_state(Archive(archive_dir), number)
    if state is None:
        click.echo(f"flowdoc: no record {number} in {archive_dir}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(state.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{state.number}　{state.flow_code}（{state.revision}）　{state.status}")
    for key, value in state.fields.items():
        click.echo(f"  {key}: {value}")
    for e in state.history:
        who = e.get("person") or e.get("applicant")
        click.echo(f"  [{e['seq']}] {e['time']} {e['type']} {e.get('step', '')} "
                   f"{e.get('decision') or ''} {who or ''} 签名 {e['sig']['value'][:16]}…")


@record.command("export")
@click.argument("number")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path))
@archive_option
def record_export(number: str, output: Path, archive_dir: Path) -> None:
    """Write the archived rendition (PDF) of a closed record."""
    from .archive.records import record_state
    from .archive.store import Archive

    archive = Archive(archive_dir)
    state = record_state(archive, number)
    if state is None or not state.rendition:
        click.echo(f"flowdoc: {number}: no archived rendition (is it closed?)", err=True)
        sys.exit(1)
    write_atomic(output, _archive_call(archive.blob, state.rendition))
    click.echo(str(output))


@main.command()
@archive_option
@click.option("--proof", "proof_of", help="Print the inclusion proof of this record.")
@click.option("--since", type=click.Path(path_type=Path),
              help="A checkpoint.json kept earlier: print the consistency proof from it.")
@click.option("--package", "package", type=click.Path(path_type=Path),
              help="Check an audit package (from flowdoc search --export) offline instead.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path))
def verify(archive_dir: Path, proof_of: str | None, since: Path | None, package: Path | None,
           as_json: bool, flows_dir: Path) -> None:
    """Prove the archive unaltered and every record consistent with its flow; exit 1 naming
    each problem, by 真实性 / 完整性 / 可用性 / 安全性."""
    if package is not None:
        _verify_package(package, as_json)
        return
    from .archive.store import Archive
    from .archive.verify import PROPERTIES, consistency, inclusion
    from .archive.verify import verify as check_archive

    library = _checked_library(flows_dir, quiet=True)
    archive = Archive(archive_dir)
    report = check_archive(archive, library)
    out: dict = {"ok": report.ok, "entries": report.entries, "records": report.records,
                 "findings": [{"property": p, "problem": m} for p, m in report.findings]}
    if report.checkpoint is not None and proof_of:
        out["inclusion"] = _archive_call(inclusion, report, archive, proof_of)
    if report.checkpoint is not None and since is not None:
        try:
            old = json.loads(since.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            click.echo(f"flowdoc: {since}: not a checkpoint", err=True)
            sys.exit(1)
        out["consistency"] = _archive_call(consistency, report, old)
        if not out["consistency"]["consistent"]:
            report.add("完整性", f"the log is not an extension of the kept checkpoint {since}")
            out["ok"] = False
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for prop in PROPERTIES:
            problems = [m for p, m in report.findings if p == prop]
            click.echo(f"{prop}: " + ("通过" if not problems else f"{len(problems)} 个问题"))
            for m in problems:
                click.echo(f"  - {m}")
        click.echo(f"{report.entries} entries, {report.records} records"
                   + (f", root {report.checkpoint.root[:16]}…" if report.checkpoint else ""))
        for key in ("inclusion", "consistency"):
            if key in out:
                click.echo(json.dumps(out[key], ensure_ascii=False))
    sys.exit(0 if report.ok and out["ok"] else 1)


@main.command()
@click.argument("query", default="")
@click.option("--flow", "flow_code", help="Only records of this flow code.")
@click.option("--signer", help="Only records this person signed (applicant included).")
@click.option("--status", help="进行中/完成/驳回/作废 (in_progress/complete/rejected/void).")
@click.option("--dept", help="Only records of this department.")
@click.option("--from", "date_from", metavar="DATE", help="Created on or after (YYYY[-MM[-DD]]).")
@click.option("--to", "date_to", metavar="DATE", help="Created on or before (YYYY[-MM[-DD]]).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--page", default=1, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--oldest-first", is_flag=True, help="Sort by date ascending (default: newest first).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True)
@click.option("--export", "export_to", type=click.Path(path_type=Path),
              help="Write every matching record as an audit package (zip) verifiable offline.")
@click.option("--reindex", is_flag=True, help="Rebuild the index from the archive first.")
@click.option("--backend", type=click.Choice(["whoosh", "tantivy"]), default="whoosh",
              envvar="FLOWDOC_SEARCH_BACKEND", show_default=True)
@archive_option
@click.option("--flows", "flows_dir", default=DEFAULT_FLOWS, type=click.Path(path_type=Path))
def search(query: str, flow_code: str | None, signer: str | None, status: str | None,
           dept: str | None, date_from: str | None, date_to: str | None, limit: int, page: int,
           oldest_first: bool, as_json: bool, as_csv: bool, export_to: Path | None, reindex: bool,
           backend: str, archive_dir: Path, flows_dir: Path) -> None:
    """Find archived records by content, person, flow, status, department and date.

    QUERY: terms (all must match; Chinese matches as exact substrings), "quoted terms", OR,
    -term or NOT term, (brackets), and fields flow: signer: status: dept: lane: meaning:
    decision: id: (id:PREFIX* for prefixes) created:FROM..TO signed:FROM..TO.
    """
    from .archive.store import Archive
    from .search import RecordIndex, combine, parse
    from .search import query as q

    try:
        tree = parse(query)
        filters: list = []
        for name, value in (("flow", flow_code), ("signer", signer), ("status", status),
                            ("dept", dept)):
            if value:
                filters.append(q.keyword(name, value))
        if date_from or date_to:
            filters.append(q.date_range("created", f"{date_from or ''}..{date_to or ''}"))
    except ValueError as exc:
        click.echo(f"flowdoc: {exc}", err=True)
        sys.exit(2)
    except q.QueryError as exc:
        click.echo(f"flowdoc: query: {exc}", err=True)
        sys.exit(2)
    tree = combine(tree, filters)
    if not archive_dir.exists():
        click.echo(f"flowdoc: {archive_dir}: no archive here (give --archive)", err=True)
        sys.exit(1)
    library = _checked_library(flows_dir, quiet=True)
    index = RecordIndex(Archive(archive_dir), library, backend)
    _archive_call(_update_index, index, reindex)
    if export_to is not None:
        from .search.package import export_package

        everything = _archive_call(index.search, tree, 10**9, 0, not oldest_first, False)
        count = _archive_call(export_package, Archive(archive_dir),
                              [h.number for h in everything.hits], export_to, query)
        click.echo(f"{export_to}: {count} record(s); check it with flowdoc verify --package {export_to}")
        return
    results = _archive_call(index.search, tree, limit, (page - 1) * limit, not oldest_first, False)
    if as_json:
        click.echo(json.dumps({"total": results.total, "page": page, "limit": limit,
                               "hits": [h.as_dict() for h in results.hits]},
                              ensure_ascii=False, indent=2))
    elif as_csv:
        import csv

        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(["number", "flow", "flow_name", "status", "applicant", "created", "snippet"])
        for h in results.hits:
            out.writerow([h.number, h.flow, h.flow_name, h.status, h.applicant, h.created, h.snippet])
    else:
        from .search.documents import STATUS_NAMES

        first = (page - 1) * limit
        shown = f"{first + 1}–{first + len(results.hits)}" if results.hits else "none"
        click.echo(f"{results.total} record(s); showing {shown}")
        for h in results.hits:
            click.echo(f"{h.number}　{h.flow_name}　{STATUS_NAMES.get(h.status, h.status)}　"
                       f"{h.applicant}　{h.created[:10]}")
            click.echo(f"    {h.snippet}")


def _update_index(index, rebuild: bool) -> None:
    """Catch the index up (or rebuild it), with a progress bar on a terminal."""
    checkpoint = index.archive.checkpoint()
    pending = index.pending() if not rebuild else (checkpoint.size if checkpoint else 0)
    if not sys.stderr.isatty() or pending < 1000:
        (index.reindex if rebuild else index.catch_up)()
        return
    with click.progressbar(length=pending, label="indexing", file=sys.stderr) as bar:
        (index.reindex if rebuild else index.catch_up)(bar.update)


def _verify_package(path: Path, as_json: bool) -> None:
    from .search.package import verify_package

    problems, manifest = verify_package(path)
    records = manifest.get("records", [])
    if as_json:
        click.echo(json.dumps({"ok": not problems, "records": records, "problems": problems,
                               "checkpoint": manifest.get("checkpoint")}, ensure_ascii=False, indent=2))
    else:
        for p in problems:
            click.echo(f"  - {p}")
        root = (manifest.get("checkpoint") or {}).get("root", "")
        click.echo(f"{path}: " + ("通过" if not problems else f"{len(problems)} 个问题") +
                   f"; {len(records)} record(s)" + (f", checkpoint root {root[:16]}…" if root else ""))
    sys.exit(0 if not problems else 1)


def run() -> None:  # pragma: no cover - console entry point wrapper
    try:
        main(standalone_mode=True)
    except FlowdocError as exc:
        click.echo(f"flowdoc: {exc}", err=True)
        sys.exit(1)
