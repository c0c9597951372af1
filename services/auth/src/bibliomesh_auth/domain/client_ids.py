"""Which ids an API client may have: an id names its client plainly, in the log lines, audit trail and tokens that
staff read, so it must never pass for another institution's client or for another client."""

from __future__ import annotations

import re
from collections.abc import Iterable

CLIENT_ID_PATTERN = r"^[a-z0-9][a-z0-9._\-]{2,99}$"
CLIENT_ID_CHARACTERS = "3 to 100 lower-case letters, digits, `.`, `_` or `-`, starting with a letter or digit"
_SEPARATORS = re.compile(r"[._\-]+")
# Look-alikes within the allowed characters (after Unicode TR 39's confusables): rn/m, vv/w, 0/o, 1/i/l.
_LOOK_ALIKES = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("i", "l"))


def institution_prefix(code: str) -> str:
    """How the ids of an institution's clients start: its code in lower case, with `-` for anything but letters and
    digits, and a `-` (`cn-dl-lhu-` for CN-DL-LHU). Generated ids start so too."""
    return re.sub(r"[^a-z0-9]+", "-", code.lower()).strip("-") + "-"


def _shape(text: str) -> str:
    shaped = text.lower()
    for look_alike, letter in _LOOK_ALIKES:
        shaped = shaped.replace(look_alike, letter)
    return _SEPARATORS.sub("-", shaped)


def look_alike_key(client_id: str) -> str:
    """What an id looks like to a reader, whatever its case, separators and look-alike characters: two ids with one
    key are one id (`bibliomesh-cli`, `BiblioMesh_CLI` and `bib1iomesh.c1i` have one key)."""
    return _shape(client_id).replace("-", "")


def owner_of(client_id: str, institutions: Iterable[str]) -> str | None:
    """The institution the id looks like a client of: the one with the longest prefix it starts with, look-alikes
    aside (`cn-dl-u1-eng-sync` is the Engineering Library's, CN-DL-U1-ENG, rather than its university's)."""
    shaped = _shape(client_id) + "-"
    matches = [code for code in institutions if shaped.startswith(_shape(institution_prefix(code)))]
    return max(matches, key=lambda code: len(institution_prefix(code)), default=None)


def client_id_problem(client_id: str, *, institution: str, institutions: Iterable[str],
                      chosen_by_platform_admin: bool) -> str | None:
    """Why a client of `institution` may not have this id, or None. An institution admin's ids start with its own
    prefix; nobody's look like another institution's (a platform admin's ids are otherwise free)."""
    if not re.fullmatch(CLIENT_ID_PATTERN, client_id):
        return f"must be {CLIENT_ID_CHARACTERS}"
    prefix = institution_prefix(institution)
    if not chosen_by_platform_admin and not client_id.startswith(prefix):
        return f"must start with `{prefix}` (the institution's code in lower case)"
    owner = owner_of(client_id, institutions)
    if owner is not None and owner != institution:
        return f"looks like an id of {owner}'s clients; start it with `{prefix}`"
    return None
