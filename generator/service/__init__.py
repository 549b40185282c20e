"""The service layer: one function per user operation, called by every front door.

The command line (and the web application to come) translate their input into these calls and
their results into text, JSON or HTML; the rules, the file-system policy and the errors live
here and below. Each operation takes plain arguments — an opened :class:`Workspace`, a person,
a passphrase, a path — and returns a typed result or raises a :class:`~generator.errors.
FlowdocError` whose ``code`` says what kind of failure it is (for an exit status or an HTTP
status alike) and whose message is one line.

    workspace   open the flows folder (library, trust root) and the archive (operator key)
    documents   build, diagram, form; flow sign and org sign (the document controller's)
    records     record check / submit / import / sign / correct / void / show / export;
                退回 / resubmit / 撤销 / 转交 / 代理, and who may sign a record now (waiting)
    keys        keys new / approve / revoke; trust init / add / remove
    audit       verify (archive and package), checkpoint, witness, search, audit export
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .workspace import Workspace, archive_location, open_workspace

__all__ = ["Workspace", "archive_location", "open_workspace"]


def __getattr__(name: str) -> Any:
    # imported when first asked for: a command that only reads the checkpoint starts without
    # loading flows, YAML and the archive's writers
    if name in __all__:
        from . import workspace

        return getattr(workspace, name)
    raise AttributeError(name)
