from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"


@pytest.fixture(scope="session")
def library():
    from generator.check import check_paths

    result = check_paths([FLOWS], base=ROOT)
    assert result.ok, "\n".join(str(p) for p in result.problems)
    return result.library
