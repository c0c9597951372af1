"""Use cases of the institution directory. Each takes the caller explicitly and publishes what changed."""

from __future__ import annotations

from typing import Any

from bibliomesh_auth.adapters.institution_repository import InstitutionRepository, VersionConflict
from bibliomesh_auth.adapters.user_repository import UserRepository
from bibliomesh_auth.domain.institutions import (
    PickupLocationsInUse,
    changed_fields,
    check_parent,
    merged,
    merged_peer,
    removed_pickup_locations,
)
from bibliomesh_auth.domain.permissions import require_administrator_of, require_directory_admin
from bibliomesh_auth.service_layer import audit
from bibliomesh_auth.service_layer.people import announce
from bibliomesh_contracts.events.directory import (
    InstitutionCreatedV1,
    InstitutionSnapshot,
    InstitutionSuspendedV1,
    InstitutionUpdatedV1,
)
from meshkit.problems import Conflict, Forbidden, NotFound, Problem
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork


async def register_institution(uow: UnitOfWork, caller: Principal, fields: dict[str, Any]) -> InstitutionSnapshot:
    require_directory_admin(caller, "register institutions")
    repo = InstitutionRepository(uow.session)
    institution = InstitutionSnapshot.model_validate(
        {**fields, "iso18626": _without_credential(fields.get("iso18626")), "status": "active", "version": 1})
    if await repo.get(institution.code) is not None:
        raise Conflict(f"institution {institution.code} already exists")
    check_parent(institution, await _parent(repo, institution))
    await repo.add(institution)
    uow.publish(InstitutionCreatedV1(institution=institution), aggregate_id=institution.code,
                aggregate_version=institution.version, institution=institution.code)
    await audit.record(uow, "institution-created", actor=caller.subject, institution=institution.code,
                       target=institution.code)
    return institution


async def update_institution(uow: UnitOfWork, caller: Principal, code: str, changes: dict[str, Any],
                             expected_version: int | None = None) -> InstitutionSnapshot:
    """Apply a merge patch; with `expected_version` (the caller's `If-Match`), only to that version of it."""
    require_administrator_of(caller, code, "edit it")
    repo = InstitutionRepository(uow.session)
    current = await _existing(repo, code)
    if expected_version is not None and current.version != expected_version:
        raise Problem(f"{code} is at version {current.version}, not {expected_version}: someone changed it since "
                      "you read it; read it again", status=412, current_version=current.version)
    if not caller.is_platform_admin and {"kind", "parent_code", "regions", "status"} & changes.keys():
        raise Forbidden("kind, parent, regions and status are set by the platform admin")
    if "status" in changes:
        raise Forbidden("use suspend/reinstate to change status")
    if changes.get("iso18626") is not None:
        changes = {**changes, "iso18626": merged_peer(current.iso18626, changes["iso18626"])}
    if changes.get("policy") is not None:
        changes = {**changes, "policy": merged(current.policy, changes["policy"])}
    updated = InstitutionSnapshot.model_validate(
        {**current.model_dump(), **changes, "code": code, "version": current.version + 1})
    fields = changed_fields(current, updated)
    if not fields:
        return current
    check_parent(updated, await _parent(repo, updated))
    await _replace(repo, updated, current.version)
    # Counted after the row is changed: an account given a location meanwhile waits for this change (accounts
    # lock the institution's row while they check the location) and then sees it gone, or is counted here.
    in_use = await UserRepository(uow.session).pickup_location_use(code, removed_pickup_locations(current, updated))
    if in_use:
        raise PickupLocationsInUse(in_use)
    uow.publish(InstitutionUpdatedV1(institution=updated, changed_fields=fields), aggregate_id=code,
                aggregate_version=updated.version, institution=code)
    await audit.record(uow, "institution-updated", actor=caller.subject, institution=code, target=code,
                       fields=fields)
    return updated


async def suspend_institution(uow: UnitOfWork, caller: Principal, code: str, reason: str | None
                              ) -> InstitutionSnapshot:
    require_directory_admin(caller, "suspend an institution")
    repo = InstitutionRepository(uow.session)
    current = await _existing(repo, code)
    if current.status == "suspended":
        return current
    suspended = current.model_copy(update={"status": "suspended", "version": current.version + 1})
    await _replace(repo, suspended, current.version)
    uow.publish(InstitutionSuspendedV1(institution=suspended, reason=reason), aggregate_id=code,
                aggregate_version=suspended.version, institution=code)
    await audit.record(uow, "institution-suspended", actor=caller.subject, institution=code, target=code,
                       reason=reason)
    return suspended


async def reinstate_institution(uow: UnitOfWork, caller: Principal, code: str) -> InstitutionSnapshot:
    require_directory_admin(caller, "reinstate an institution")
    repo = InstitutionRepository(uow.session)
    current = await _existing(repo, code)
    if current.status == "active":
        return current
    active = current.model_copy(update={"status": "active", "version": current.version + 1})
    await _replace(repo, active, current.version)
    uow.publish(InstitutionUpdatedV1(institution=active, changed_fields=["status"]), aggregate_id=code,
                aggregate_version=active.version, institution=code)
    await audit.record(uow, "institution-reinstated", actor=caller.subject, institution=code, target=code)
    return active


async def announce_directory(uow: UnitOfWork, caller: Principal, *, people: bool = True) -> tuple[int, int]:
    """Announce every institution (and every person) again, each with a new version, so every service rebuilds
    its copy from them: a copy restored from a backup, or one kept from before a field existed (notify's branch
    libraries before its migration 0004). Returns how many institutions and people were announced."""
    require_directory_admin(caller, "announce the directory")
    repo = InstitutionRepository(uow.session)
    listed = await repo.list()
    for institution in listed:
        again = institution.model_copy(update={"version": institution.version + 1})
        await _replace(repo, again, institution.version)
        uow.publish(InstitutionUpdatedV1(institution=again, changed_fields=[]), aggregate_id=again.code,
                    aggregate_version=again.version, institution=again.code)
    announced_people = await _announce_people(uow) if people else 0
    await audit.record(uow, "directory-announced", actor=caller.subject, institution=caller.institution,
                       institutions=len(listed), people=announced_people)
    return len(listed), announced_people


async def _announce_people(uow: UnitOfWork, page: int = 500) -> int:
    users = UserRepository(uow.session)
    count = 0
    while batch := await users.list(None, limit=page, offset=count):
        for user in batch:
            announce(uow, await users.update(user))  # no change but the version, so the copies take it
        count += len(batch)
    return count


def _without_credential(peer: Any) -> Any:
    return {k: v for k, v in peer.items() if k != "credential_hash"} if isinstance(peer, dict) else peer


async def _existing(repo: InstitutionRepository, code: str) -> InstitutionSnapshot:
    institution = await repo.get(code)
    if institution is None:
        raise NotFound(f"no institution {code}")
    return institution


async def _parent(repo: InstitutionRepository, institution: InstitutionSnapshot) -> InstitutionSnapshot | None:
    return await repo.get(institution.parent_code) if institution.parent_code else None


async def _replace(repo: InstitutionRepository, institution: InstitutionSnapshot, expected: int) -> None:
    try:
        await repo.replace(institution, expected)
    except VersionConflict:
        raise Conflict(f"{institution.code} was changed by someone else; reload and retry") from None
