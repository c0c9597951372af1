"""The generator and compatibility check live in `contracts/tools/`, a folder of scripts rather than a package."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

for folder in (Path(__file__).parent, Path(__file__).parent.parent / "tools"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import generate  # noqa: E402


@pytest.fixture(scope="session")
def rendered() -> dict[Path, str]:
    """Every generated contract file, built once per session (building the service apps takes a moment)."""
    return generate.render()
