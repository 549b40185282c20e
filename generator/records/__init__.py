"""Record rules: what one instance of a flow must contain, which path it takes, who signs."""

from .authority import Delegation, Signers, signers
from .inputs import RecordInputError, read_record, record_from_data
from .rendition import SignatureLine, render_record
from .routing import Route, RouteError, derive_values, route
from .rules import RecordCheck, RecordInput, check_record, may_sign
from .values import FieldError, coerce, typed_values

__all__ = [
    "Delegation", "FieldError", "RecordCheck", "RecordInput", "RecordInputError", "Route",
    "RouteError", "SignatureLine", "Signers", "check_record", "coerce", "derive_values",
    "may_sign", "read_record", "record_from_data", "render_record", "route", "signers",
    "typed_values",
]
