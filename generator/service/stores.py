"""The archive's stores: create a PostgreSQL one, copy an archive between any two."""

from __future__ import annotations

from pathlib import Path

from ..archive.copying import Copied, copy_archive
from ..archive.location import is_database_url, open_store
from ..archive.store import ArchiveError


def init_store(location: str | Path, app_role: str = "flowdoc_app") -> str:
    """Create or migrate the schema and the application role of a PostgreSQL archive."""
    if not is_database_url(str(location)):
        raise ArchiveError(f"{location}: archive init is for a postgresql:// URL (a folder "
                           "archive is made by its first write)")
    from ..archive.pgstore import init

    return init(str(location), app_role)


def copy(source: str | Path, destination: str | Path) -> Copied:
    """Copy the archive at ``source`` into ``destination`` (a folder or postgresql:// each)."""
    src = open_store(source)
    if not src.exists():
        raise ArchiveError(f"{src.name}: no archive there")
    return copy_archive(src, open_store(destination))
