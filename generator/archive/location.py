"""Which store an archive location names: a folder path, or a PostgreSQL URL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .store import Archive, Store

if TYPE_CHECKING:
    from ..seal.signoff import Signer


def open_store(location: str | Path, operator: Signer | None = None) -> Store:
    """The store at ``location``: ``postgresql://…`` (or ``postgres://…``) a PostgreSQL
    store, anything else a folder."""
    text = str(location)
    if is_database_url(text):
        from .pgstore import PgArchive

        return PgArchive(text, operator)
    return Archive(Path(location), operator)


def is_database_url(location: str | Path) -> bool:
    """Whether ``location`` names a PostgreSQL store rather than a folder."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))
