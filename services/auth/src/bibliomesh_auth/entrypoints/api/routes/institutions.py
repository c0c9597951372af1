"""`/auth/institutions`: the directory. Reading is public; changing it is for admins."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Response, status

from bibliomesh_auth.adapters.institution_repository import InstitutionRepository
from bibliomesh_auth.entrypoints.api.callers import Administrator, DirectoryAdmin
from bibliomesh_auth.entrypoints.api.schemas import InstitutionCreate, InstitutionPatch, SuspendBody
from bibliomesh_auth.service_layer import directory
from bibliomesh_contracts.events.directory import InstitutionSnapshot
from bibliomesh_contracts.events.directory.institution import InstitutionKind
from meshkit.problems import InvalidField, NotFound
from meshkit.web import UnitOfWorkDep

router = APIRouter(prefix="/auth/institutions", tags=["directory"])


@router.get("", summary="List institutions (public).")
async def list_institutions(uow: UnitOfWorkDep, kind: InstitutionKind | None = None, region: str | None = None,
                            status: Literal["active", "suspended"] | None = None) -> list[InstitutionSnapshot]:
    found = await InstitutionRepository(uow.session).list(kind=kind, region=region, status=status)
    return [public_view(i) for i in found]


@router.get("/{code}", summary="One institution (public); its `ETag` is its version, for `If-Match` on PATCH.")
async def get_institution(code: str, uow: UnitOfWorkDep, response: Response) -> InstitutionSnapshot:
    institution = await InstitutionRepository(uow.session).get(code)
    if institution is None:
        raise NotFound(f"no institution {code}")
    response.headers["ETag"] = entity_tag(institution)
    return public_view(institution)


def entity_tag(institution: InstitutionSnapshot) -> str:
    return f'"{institution.version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an `If-Match` names (`"3"`, as the ETag gives it); None for none or `*` (any version)."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip()
    if len(tag) < 3 or tag[0] != '"' or tag[-1] != '"' or not tag[1:-1].isascii() or not tag[1:-1].isdigit():
        raise InvalidField("If-Match", 'one entity tag as the ETag gives it, e.g. "3", or *')
    return int(tag[1:-1])


def public_view(institution: InstitutionSnapshot) -> InstitutionSnapshot:
    """The directory is public, but not the verifier of a peer's credentials (harmless as it is, it is nobody's)."""
    if institution.iso18626 is None or institution.iso18626.credential_hash is None:
        return institution
    return institution.model_copy(update={"iso18626": institution.iso18626.model_copy(
        update={"credential_hash": None})})


@router.post("", status_code=status.HTTP_201_CREATED,
             summary="Register an institution (platform admin with `directory:admin`).")
async def register(body: InstitutionCreate, uow: UnitOfWorkDep, caller: DirectoryAdmin) -> InstitutionSnapshot:
    institution = await directory.register_institution(uow, caller, body.model_dump())
    await uow.commit()
    return institution


@router.patch("/{code}", summary="Change an institution (platform admin with `directory:admin`, or an admin of that "
              "institution with `accounts:manage`); dropping a pickup location that accounts still have is a 409 "
              "naming it. With `If-Match` (the ETag read), a change made meanwhile by someone else is a 412.",
              responses={412: {"description": "The institution is no longer at the version `If-Match` names."}})
async def update(code: str, body: InstitutionPatch, uow: UnitOfWorkDep, caller: Administrator, response: Response,
                 if_match: Annotated[str | None, Header(max_length=40, description="The ETag read (`\"3\"`): the "
                                                        "change applies only to that version, else 412.")] = None
                 ) -> InstitutionSnapshot:
    institution = await directory.update_institution(uow, caller, code, body.model_dump(exclude_unset=True),
                                                     expected_version(if_match))
    await uow.commit()
    response.headers["ETag"] = entity_tag(institution)
    return institution


@router.post("/{code}/suspend", summary="Suspend an institution (platform admin).")
async def suspend(code: str, body: SuspendBody, uow: UnitOfWorkDep, caller: DirectoryAdmin
                  ) -> InstitutionSnapshot:
    institution = await directory.suspend_institution(uow, caller, code, body.reason)
    await uow.commit()
    return institution


@router.post("/{code}/reinstate", summary="Reinstate a suspended institution (platform admin).")
async def reinstate(code: str, uow: UnitOfWorkDep, caller: DirectoryAdmin) -> InstitutionSnapshot:
    institution = await directory.reinstate_institution(uow, caller, code)
    await uow.commit()
    return institution
