"""OAI-PMH setSpecs for holding institutions, and back.

A setSpec may only hold `A-Za-z0-9-_.!~*'()`, and `:` separates a set from its parent, but institution codes
(ISIL) may hold `/` and `:`. So every other character, and `~` itself, is written as `~` and the two upper-case
hex digits of each of its UTF-8 bytes: `CN-QA/SLASH` is the set `CN-QA~2FSLASH`, `CN-QA:COLON` is
`CN-QA~3ACOLON` (a set of its own, not a subset of `CN-QA`), `A~B` is `A~7EB`. Codes without such characters are
their own setSpec.
"""

from __future__ import annotations

import re

_PLAIN = re.compile(r"[A-Za-z0-9\-_.!*'()]")
_SPEC = re.compile(r"(?:[A-Za-z0-9\-_.!*'()]|~[0-9A-F]{2})+")
_ESCAPE = re.compile(rb"~([0-9A-F]{2})")


def set_spec(institution: str) -> str:
    """The setSpec of the institution's set."""
    return "".join(c if _PLAIN.fullmatch(c) else "".join(f"~{b:02X}" for b in c.encode()) for c in institution)


def institution_of(spec: str) -> str | None:
    """The institution whose set `spec` is; None if `set_spec` makes no such setSpec."""
    if not _SPEC.fullmatch(spec):
        return None
    try:
        institution = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), spec.encode("ascii")).decode()
    except UnicodeDecodeError:
        return None
    # One spelling per set: `~41` for `A` would name the same set twice.
    return institution if set_spec(institution) == spec else None
