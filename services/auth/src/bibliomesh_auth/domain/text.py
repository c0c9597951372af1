"""Rules for free text that people type and others later read, copy or open in a spreadsheet."""

from __future__ import annotations

import unicodedata

# Spreadsheets run a cell that starts with one of these as a formula (OWASP, "CSV injection"); tab and carriage
# return are on the list because some programs skip them and read the formula behind.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def has_control_character(text: str) -> bool:
    """Whether the text holds a control character (NUL, tab, line breaks, DEL, C1) or an unpaired surrogate (which
    no UTF-8 can carry)."""
    return any(unicodedata.category(character) in ("Cc", "Cs") for character in text)


def formula_problem(text: str) -> str | None:
    """Why a cell would run as a spreadsheet formula, or None."""
    if text.startswith(FORMULA_STARTS):
        return "must not start with =, +, -, @, a tab or a carriage return (a spreadsheet would run it as a formula)"
    return None


def without_control_characters(text: str) -> str:
    return "".join(character for character in text if unicodedata.category(character) not in ("Cc", "Cs"))


def defused(text: str) -> str:
    """The text without the leading characters that would make a spreadsheet run it as a formula."""
    return text.lstrip("".join(FORMULA_STARTS) + " ")
