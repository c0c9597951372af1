"""The directory's rules, free of I/O."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from bibliomesh_contracts.events.directory import InstitutionSnapshot
from bibliomesh_contracts.events.directory.institution import Iso18626Peer
from meshkit.problems import Problem

CODE_PATTERN = re.compile(r"^[A-Z]{2}-[A-Za-z0-9:\-]{1,60}$|^PLATFORM$")


class InvalidInstitution(Problem):
    status = 422


class PickupLocationsInUse(Problem):
    """409: removing pickup locations that accounts still have would leave them with one the institution no longer
    offers (and the broker refuses a request sent there)."""

    status = 409

    def __init__(self, in_use: dict[str, int]) -> None:
        named = ", ".join(f"{location} ({count} account{'s' if count != 1 else ''})"
                          for location, count in sorted(in_use.items()))
        message = f"still the pickup location of accounts: {named}; give those accounts another one first"
        super().__init__(f"pickup_locations: {message}", errors=[{"field": "pickup_locations", "message": message}],
                         in_use=dict(sorted(in_use.items())))


def check_parent(child: InstitutionSnapshot, parent: InstitutionSnapshot | None) -> None:
    """A branch library belongs to a university; nothing else has a parent."""
    if child.parent_code is not None and parent is None:
        raise InvalidInstitution(f"no institution {child.parent_code}",
                                 errors=[{"field": "parent_code", "message": "unknown institution"}])
    if child.kind == "branch-library":
        if parent is None:
            raise InvalidInstitution("a branch library needs `parent_code` naming its university",
                                     errors=[{"field": "parent_code", "message": "required for a branch library"}])
        if parent.kind != "university":
            raise InvalidInstitution(f"parent {parent.code} is a {parent.kind}, not a university",
                                     errors=[{"field": "parent_code", "message": "must name a university"}])
    elif child.parent_code is not None:
        raise InvalidInstitution("only a branch library has a parent",
                                 errors=[{"field": "parent_code", "message": "only for kind branch-library"}])
    if child.kind == "external-peer" and child.iso18626 is None:
        raise InvalidInstitution("an external peer needs its ISO 18626 endpoint",
                                 errors=[{"field": "iso18626", "message": "required for kind external-peer"}])


def merged(current: BaseModel, patch: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7396) of one nested part of an institution: the fields sent replace, the others keep
    their value (the broker acts on the whole policy and the whole peer settings, so a field left out must not
    reset)."""
    return {**current.model_dump(), **patch}


def merged_peer(current: Iso18626Peer | None, patch: dict[str, Any]) -> dict[str, Any]:
    """The ISO 18626 settings after a merge patch; settings given for the first time must be whole (422 naming
    what is missing). The credential is kept: it changes only through its own use case."""
    sent = {name: value for name, value in patch.items() if name != "credential_hash"}
    if current is not None:
        return merged(current, sent)
    try:
        return Iso18626Peer.model_validate(sent).model_dump()
    except ValidationError as exc:
        errors = [{"field": ".".join(["iso18626", *map(str, e["loc"])]), "message": e["msg"]} for e in exc.errors()]
        raise InvalidInstitution(f"new ISO 18626 settings need {', '.join(e['field'] for e in errors)}",
                                 errors=errors) from None


def removed_pickup_locations(before: InstitutionSnapshot, after: InstitutionSnapshot) -> list[str]:
    return [location for location in before.pickup_locations if location not in after.pickup_locations]


def changed_fields(before: InstitutionSnapshot, after: InstitutionSnapshot) -> list[str]:
    old, new = before.model_dump(exclude={"version"}), after.model_dump(exclude={"version"})
    return sorted(key for key in new if old.get(key) != new[key])
