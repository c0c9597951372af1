"""Bulk import of accounts: each row is created, brought up to date, left unchanged or rejected with a reason.

Every row goes through the same use cases as a single create or change, inside its own savepoint, so a bad row
never sinks the batch and the rules are written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSessionTransaction

from bibliomesh_auth.adapters.user_repository import UserRepository
from bibliomesh_auth.domain.accounts import User
from bibliomesh_auth.domain.permissions import managed_institution
from bibliomesh_auth.service_layer import audit
from bibliomesh_auth.service_layer.accounts import PROFILE_FIELDS, InvalidAccount, create_user, update_user
from meshkit.problems import Problem
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ParsedRow:
    """A row as read from the upload: its fields if they are well-formed, else why not."""

    row: int
    username: str | None
    fields: dict[str, Any] | None
    field: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RowResult:
    row: int
    username: str | None
    result: str
    user_id: str | None = None
    field: str | None = None
    reason: str | None = None


async def import_users(uow: UnitOfWork, caller: Principal, institution: str | None, rows: list[ParsedRow],
                       ip: str | None = None) -> list[RowResult]:
    """Apply every well-formed row; report each row's outcome."""
    target = managed_institution(caller, institution or caller.institution)
    assert target is not None
    results: list[RowResult] = []
    for parsed in rows:
        if parsed.fields is None:
            results.append(RowResult(parsed.row, parsed.username, "rejected", field=parsed.field,
                                     reason=parsed.reason))
            continue
        savepoint = await _savepoint(uow)
        try:
            result = await _apply(uow, caller, target, parsed.row, parsed.fields, ip)
        except Problem as exc:
            if savepoint is not None:
                await savepoint.rollback()
            field, reason = (exc.field, exc.message) if isinstance(exc, InvalidAccount) else ("username", exc.detail)
            results.append(RowResult(parsed.row, parsed.username, "rejected", field=field, reason=reason))
            continue
        if savepoint is not None:
            await savepoint.commit()
        results.append(result)
    await audit.record(uow, "users-imported", actor=caller.subject, institution=target, ip=ip,
                       outcomes=count_outcomes(results))
    return results


def count_outcomes(results: list[RowResult]) -> dict[str, int]:
    """How many rows were created, updated, unchanged and rejected."""
    return {name: sum(1 for r in results if r.result == name) for name in ("created", "updated", "unchanged",
                                                                              "rejected")}


async def _savepoint(uow: UnitOfWork) -> AsyncSessionTransaction | None:
    """A savepoint per row on PostgreSQL, where a failed statement would otherwise abort the whole transaction.

    Not on SQLite: there a savepoint opens the transaction at the first read, and a write after another connection
    committed then fails at once with "database is locked". Every rule is checked before a row writes anything, so
    a rejected row has nothing to undo.
    """
    if uow.session.get_bind().dialect.name == "sqlite":
        return None
    return await uow.session.begin_nested()


async def _apply(uow: UnitOfWork, caller: Principal, institution: str, row: int, fields: dict[str, Any],
                 ip: str | None) -> RowResult:
    existing = await UserRepository(uow.session).by_username(institution, fields["username"])
    if existing is None:
        user = await create_user(uow, caller, {**fields, "institution": institution}, ip)
        return RowResult(row, user.username, "created", user_id=user.id)
    changes = _differences(existing, fields)
    if not changes:
        return RowResult(row, existing.username, "unchanged", user_id=existing.id)
    await update_user(uow, caller, existing.id, {**changes, "version": existing.version}, ip)
    return RowResult(row, existing.username, "updated", user_id=existing.id)


def _differences(user: User, fields: dict[str, Any]) -> dict[str, Any]:
    """The profile fields the row sets to something else (a password never changes by import)."""
    changes: dict[str, Any] = {}
    for name in PROFILE_FIELDS:
        if name not in fields:
            continue
        current: Any = sorted(user.roles) if name == "roles" else getattr(user, name)
        wanted = sorted(fields[name]) if name == "roles" and fields[name] is not None else fields[name]
        if wanted != current:
            changes[name] = wanted
    return changes
