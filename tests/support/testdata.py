"""Where the real bibliographic test data lives (fetched by `make testdata`, run by `make test`)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("TESTDATA_DIR", Path.home() / ".cache" / "bibliomesh" / "testdata"))


def path(*parts: str) -> Path:
    """A test data file; fails (never skips) with the command that fetches it."""
    found = ROOT.joinpath(*parts)
    if not found.exists():
        raise AssertionError(f"test data {found} is missing: run `make testdata` (scripts/fetch_testdata.sh)")
    return found


def loc_books() -> Path:
    """250,000 Library of Congress MARC records (UTF-8), from the pymarc source distribution."""
    return path("pymarc", "BooksAll.2016.part01.utf8")


def pymarc_sample(name: str) -> Path:
    """pymarc's own small (often deliberately broken) sample files, e.g. `bad_records.mrc`, `marc8.dat`."""
    return path("pymarc", name)


def zebra(*parts: str) -> Path:
    """Debian's idzebra-2.0-examples: `marc21/sample-marc`, `oai-pmh/data/oai-caltech.xml`."""
    return path("zebra", *parts)
