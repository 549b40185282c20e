"""Search for auditors: Chinese full-text and fielded search of archived records.

One interface, two backends (Whoosh by default, tantivy as an optional extra for very large
archives). The index is derived from the archive and catches up on every search; ``verify``
never reads it. ``export_package`` hands a set of records on as an audit package that
``verify_package`` checks offline.
"""

from .index import BACKENDS, Hit, RecordIndex, Results, SearchError
from .query import QueryError, combine, parse

__all__ = ["BACKENDS", "Hit", "QueryError", "RecordIndex", "Results", "SearchError", "combine",
           "parse"]
