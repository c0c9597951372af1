"""`/auth/users`: local accounts, managed by institution admins (their own institution) and platform admins."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from bibliomesh_auth.entrypoints.api.callers import Manager, Person
from bibliomesh_auth.entrypoints.api.deps import client_ip
from bibliomesh_auth.entrypoints.api.schemas_accounts import PasswordChange, UserCreate, UserPage, UserPatch, UserView
from bibliomesh_auth.entrypoints.api.schemas_import import (
    MAX_IMPORT_BYTES,
    ImportReport,
    ImportRow,
    ImportRowResult,
    parse_upload,
)
from bibliomesh_auth.service_layer import account_import, accounts
from meshkit.numbers import whole_number
from meshkit.problems import ContentTooLarge
from meshkit.web import MAX_ID, UnitOfWorkDep

router = APIRouter(prefix="/auth/users", tags=["accounts"])
ADMINS = "`accounts:manage`: institution admin of that institution, or platform admin"
IMPORT_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}, "example": "username,email,display_name,roles\n"
                 "li.wei,li.wei@example.edu,Li Wei,patron\n"},
    "application/json": {"schema": {"type": "array", "items": ImportRow.model_json_schema()}}}}}


@router.post("", status_code=status.HTTP_201_CREATED, summary=f"Create a local account ({ADMINS}; only a "
             "platform admin may give platform-admin).")
async def create_user(body: UserCreate, request: Request, uow: UnitOfWorkDep, caller: Manager) -> UserView:
    user = await accounts.create_user(uow, caller, body.model_dump(exclude_unset=True), client_ip(request))
    await uow.commit()
    return UserView.of(user)


@router.get("", summary=f"List accounts, filtered and paged ({ADMINS}).")
async def list_users(
    uow: UnitOfWorkDep, caller: Manager,
    institution: Annotated[str | None, Query(max_length=64, description="Default: the caller's (platform "
                                             "admins: every institution).")] = None,
    role: Annotated[Literal["patron", "staff", "institution-admin", "platform-admin"] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of username, name or e-mail.")] = None,
    account_status: Annotated[Literal["active", "disabled"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> UserPage:
    found, next_offset = await accounts.list_users(uow, caller, institution, role=role, query=q,
                                                   status=account_status, limit=limit, offset=offset)
    return UserPage(items=[UserView.of(u) for u in found], limit=limit, offset=offset, next_offset=next_offset)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT,
             summary="Change your own password (any signed-in person with a local account).")
async def change_password(body: PasswordChange, request: Request, uow: UnitOfWorkDep,
                          caller: Person) -> Response:
    await accounts.change_own_password(uow, caller, body.old_password, body.new_password, client_ip(request))
    await uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/import", summary=f"Import accounts from CSV (header row) or a JSON array; each row is created, "
             f"updated, unchanged or rejected with a reason ({ADMINS}).", openapi_extra=IMPORT_BODY,
             responses={413: {"description": f"More than {MAX_IMPORT_BYTES} bytes or too many rows."}})
async def import_users(
    request: Request, uow: UnitOfWorkDep, caller: Manager,
    institution: Annotated[str | None, Query(max_length=64, description="Default: the caller's.")] = None,
) -> ImportReport:
    declared = whole_number(request.headers.get("content-length"), low=0)
    if declared is not None and declared > MAX_IMPORT_BYTES:
        raise ContentTooLarge(f"an import may be at most {MAX_IMPORT_BYTES} bytes; split the file")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_IMPORT_BYTES:
            raise ContentTooLarge(f"an import may be at most {MAX_IMPORT_BYTES} bytes; split the file")
    rows = parse_upload(bytes(body), request.headers.get("content-type", ""))
    results = await account_import.import_users(uow, caller, institution, rows, client_ip(request))
    await uow.commit()
    return ImportReport(**account_import.count_outcomes(results), rows=[ImportRowResult.of(r) for r in results])


@router.get("/{user_id}", summary=f"One account ({ADMINS}).")
async def get_user(user_id: str, uow: UnitOfWorkDep, caller: Manager) -> UserView:
    return UserView.of(await accounts.get_user(uow, caller, user_id))


@router.patch("/{user_id}", summary=f"Change an account; send the `version` you read, 409 if it changed since "
              f"({ADMINS}).")
async def update_user(user_id: str, body: UserPatch, request: Request, uow: UnitOfWorkDep,
                      caller: Manager) -> UserView:
    user = await accounts.update_user(uow, caller, user_id, body.model_dump(exclude_unset=True), client_ip(request))
    await uow.commit()
    return UserView.of(user)


@router.post("/{user_id}/disable", summary=f"Disable an account and end its sessions ({ADMINS}).")
async def disable_user(user_id: str, request: Request, uow: UnitOfWorkDep, caller: Manager) -> UserView:
    user = await accounts.set_user_status(uow, caller, user_id, "disabled", client_ip(request))
    await uow.commit()
    return UserView.of(user)


@router.post("/{user_id}/enable", summary=f"Enable a disabled account ({ADMINS}).")
async def enable_user(user_id: str, request: Request, uow: UnitOfWorkDep, caller: Manager) -> UserView:
    user = await accounts.set_user_status(uow, caller, user_id, "active", client_ip(request))
    await uow.commit()
    return UserView.of(user)
