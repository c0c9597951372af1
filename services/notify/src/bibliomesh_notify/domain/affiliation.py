"""Which libraries count as one for a patron: the same library, or libraries of one university (a university and
its branch libraries collaborate as one: a patron of a branch borrows through the university and its branches)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class Library:
    code: str
    parent_code: str | None
    """The university a branch library belongs to; None for any other library."""
    parent_known: bool = True
    """False while notify's copy cannot tell (it predates `parent_code`, or there is no copy yet): a library
    without a known parent may still be a branch."""


class Affiliation(Enum):
    SAME = "same"
    """One library, or libraries of one university."""
    OTHER = "other"
    """Libraries of different universities, as far as the directory knows them."""
    UNKNOWN = "unknown"
    """Not one university as far as notify knows, but a library's university is not known yet."""


def same_university(a: Library, b: Library) -> bool:
    """True if `a` and `b` are one library, one is the university of the other, or both are branches of one."""
    return (a.code == b.code or a.parent_code == b.code or b.parent_code == a.code
            or (a.parent_code is not None and a.parent_code == b.parent_code))


def affiliation(a: Library, b: Library) -> Affiliation:
    """Whether `a` and `b` are of one university; UNKNOWN if they may be once their universities are known."""
    if same_university(a, b):
        return Affiliation.SAME
    return Affiliation.OTHER if a.parent_known and b.parent_known else Affiliation.UNKNOWN
