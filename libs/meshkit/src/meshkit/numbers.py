"""Whole numbers typed into query strings, headers, forms and protocol fields. `str.isdigit()` alone lets through
digits that `int()` refuses (`²`, and more than 4,300 of them), so the check is on plain ASCII digits, and few
enough of them, first."""

from __future__ import annotations

MAX_ID = 2**63 - 1  # the largest id a BIGINT column holds
MAX_DIGITS = len(str(MAX_ID))


def whole_number(raw: str | None, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """The number `raw` spells in ASCII digits (surrounding spaces allowed) when within `low`..`high`; else None."""
    text = (raw or "").strip()
    if not text or len(text) > MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if low <= number <= high else None
