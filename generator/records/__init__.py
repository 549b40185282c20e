"""Record rules: what one instance of a flow must contain, which path it takes, who signs."""

from .inputs import RecordInputError, read_record, record_from_data
from .rendition import SignatureLine, render_record
from .routing import Route, RouteError, derive_values, route
from .rules import RecordCheck, RecordInput, StepSigners, check_record, may_sign, signers_for
from .values import FieldError, coerce, typed_values

__all__ = [
    "FieldError", "RecordCheck", "RecordInput", "RecordInputError", "Route", "RouteError",
    "SignatureLine", "StepSigners", "check_record", "coerce", "derive_values", "may_sign",
    "read_record", "record_from_data", "render_record", "route", "signers_for", "typed_values",
]
