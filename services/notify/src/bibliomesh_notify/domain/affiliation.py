"""Which libraries count as one for a patron: the same library, or libraries of one university (a university and
its branch libraries collaborate as one: a patron of a branch borrows through the university and its branches)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Library:
    code: str
    parent_code: str | None
    """The university a branch library belongs to; None for any other library."""


def same_university(a: Library, b: Library) -> bool:
    """True if `a` and `b` are one library, one is the university of the other, or both are branches of one."""
    return (a.code == b.code or a.parent_code == b.code or b.parent_code == a.code
            or (a.parent_code is not None and a.parent_code == b.parent_code))
