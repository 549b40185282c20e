"""The words every front door shows for the archive's codes, one table each.

The command line, the web pages and the CSV export print a record's status, an event's kind,
a signature's meaning, verify's four properties and a value's text. Kept here, beside the
operations that return those codes, so that the three cannot call one status by two names
(a record 办理中 on its page and 进行中 in the search results was what happened when each
front door kept its own table)."""

from __future__ import annotations

from ..archive.rulebook import MEANING
from ..archive.state import STATUS_TEXT, status_text
from ..archive.verify import PROPERTIES
from ..records.values import value_text
from ..search.package import COMPLETENESS

__all__ = ["COMPLETENESS", "EVENT_TEXT", "PROPERTIES", "STATUS_TEXT", "meaning_of", "status_text",
           "value_text"]

EVENT_TEXT = {"submit": "提交", "sign": "签署", "correct": "更正", "void": "作废",
              "rendition": "归档版式", "return": "退回", "resubmit": "重新提交", "withdraw": "撤销",
              "transfer": "转交"}


def meaning_of(kind: str) -> str:
    """What signing a step of this kind means (编制, 审批, 复核), as the signature records it."""
    return MEANING.get(kind, "审批")
