"""A whole number from a form, a query or a header: plain ASCII digits, few enough for int(), within bounds."""

from __future__ import annotations

from meshkit.numbers import whole_number

SUPERSCRIPT_TWO = "\u00b2"
TOO_LONG = "9" * 5000


def test_only_plain_digits_make_a_whole_number() -> None:
    assert [whole_number(raw, high=500) for raw in ("7", " 12 ", "0500", "0", "501", "", None)] == [
        7, 12, 500, None, None, None, None]
    assert [whole_number(raw, high=500) for raw in (SUPERSCRIPT_TWO, "\u0663", "\uff17", "-3", "+3", "1e3")] == [
        None] * 6
    assert whole_number(TOO_LONG, high=10**9) is None
    assert whole_number("0", low=0, high=5) == 0
