"""`/auth/clients`: API clients of partner systems and browser apps; and credentials of ISO 18626 peers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from bibliomesh_auth.entrypoints.api.callers import DirectoryAdmin, Manager
from bibliomesh_auth.entrypoints.api.deps import SettingsDep, client_ip
from bibliomesh_auth.entrypoints.api.schemas_clients import (
    ClientCreate,
    ClientPatch,
    ClientView,
    ClientWithSecret,
    PeerCredentials,
)
from bibliomesh_auth.service_layer import client_edits, clients
from bibliomesh_auth.service_layer.clients import NewClient
from bibliomesh_auth.service_layer.peer_credentials import issue_peer_credentials
from meshkit.web import UnitOfWorkDep

router = APIRouter(prefix="/auth/clients", tags=["clients"])
peers = APIRouter(prefix="/auth/institutions", tags=["directory"])
ADMINS = "`accounts:manage`: institution admin of that institution, or platform admin"
NO_STORE = {"Cache-Control": "no-store"}


@router.post("", status_code=status.HTTP_201_CREATED, summary=f"Register an API client; the secret is in this "
             f"response only ({ADMINS}; public browser clients and `directory:admin`: platform admin only).")
async def create_client(body: ClientCreate, request: Request, uow: UnitOfWorkDep, caller: Manager,
                        settings: SettingsDep) -> ClientWithSecret:
    created = await clients.create_client(uow, settings, caller, body.model_dump(exclude_unset=True),
                                          client_ip(request))
    await uow.commit()
    return _with_secret(created)


@router.get("", summary=f"List API clients, never their secrets ({ADMINS}).")
async def list_clients(
    uow: UnitOfWorkDep, caller: Manager,
    institution: Annotated[str | None, Query(max_length=64, description="Default: the caller's (platform admins: "
                                             "every institution).")] = None,
    include_disabled: bool = True,
) -> list[ClientView]:
    return [ClientView.of(c) for c in await clients.list_clients(uow, caller, institution, include_disabled)]


@router.get("/{client_id}", summary=f"One API client ({ADMINS}).")
async def get_client(client_id: str, uow: UnitOfWorkDep, caller: Manager) -> ClientView:
    return ClientView.of(await clients.get_client(uow, caller, client_id))


@router.post("/{client_id}/secret", summary=f"Rotate a confidential client's secret (a disabled one's too); the new "
             f"one is in this response only and the old one stops working ({ADMINS}).")
async def rotate_secret(client_id: str, request: Request, uow: UnitOfWorkDep,
                        caller: Manager) -> ClientWithSecret:
    rotated = await clients.rotate_secret(uow, caller, client_id, client_ip(request))
    await uow.commit()
    return _with_secret(rotated)


@router.post("/{client_id}/disable", summary=f"Disable a client and revoke every token issued to it so far, for good: "
             f"refresh and access tokens, unredeemed codes ({ADMINS}).")
async def disable_client(client_id: str, request: Request, uow: UnitOfWorkDep, caller: Manager
                         ) -> ClientView:
    client = await clients.disable_client(uow, caller, client_id, client_ip(request))
    await uow.commit()
    return ClientView.of(client)


@router.patch("/{client_id}", summary=f"Change a client's name, scopes, grant types or (public clients) redirect "
              f"URIs, by the rules of registration ({ADMINS}; public clients and clients of the platform itself: "
              f"platform admin only).")
async def update_client(client_id: str, body: ClientPatch, request: Request, uow: UnitOfWorkDep,
                        caller: Manager, settings: SettingsDep) -> ClientView:
    client = await client_edits.update_client(uow, settings, caller, client_id, body.model_dump(exclude_unset=True),
                                              client_ip(request))
    await uow.commit()
    return ClientView.of(client)


@router.post("/{client_id}/enable", summary=f"Enable a disabled client again, with its current secret; the tokens "
             f"revoked when it was disabled stay revoked ({ADMINS}; public clients and the platform's own: "
             "platform admins only).")
async def enable_client(client_id: str, request: Request, uow: UnitOfWorkDep, caller: Manager,
                        settings: SettingsDep) -> ClientView:
    client = await client_edits.enable_client(uow, settings, caller, client_id, client_ip(request))
    await uow.commit()
    return ClientView.of(client)


@peers.post("/{code}/peer-credentials", status_code=status.HTTP_201_CREATED,
            summary="Issue (or replace) the shared secret an external ISO 18626 peer's messages must carry; shown "
                    "in this response only (platform admin with `directory:admin`).")
async def peer_credentials(code: str, request: Request, uow: UnitOfWorkDep, caller: DirectoryAdmin
                           ) -> PeerCredentials:
    institution, secret = await issue_peer_credentials(uow, caller, code, client_ip(request))
    await uow.commit()
    return PeerCredentials(institution=institution, secret=secret)


def _with_secret(created: NewClient) -> ClientWithSecret:
    return ClientWithSecret(**ClientView.of(created.client).model_dump(), client_secret=created.secret)
