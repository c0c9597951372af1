"""`/notify/preferences` (the caller's own) and `/notify/mailboxes/{code}/preferences` (a library's ILL
mailbox, set by its admins): channels per message kind and the daily digest."""

from __future__ import annotations

from fastapi import APIRouter

from bibliomesh_notify.adapters.preference_repository import PreferenceRepository
from bibliomesh_notify.domain.messages import MESSAGE_KINDS
from bibliomesh_notify.domain.preferences import Preferences
from bibliomesh_notify.entrypoints.api.deps import ServicesDep
from bibliomesh_notify.entrypoints.api.schemas import InstitutionCode, PreferencesBody, PreferencesOut
from bibliomesh_notify.service_layer.institutions import require_known
from bibliomesh_notify.service_layer.recipients import MAILBOX
from meshkit.problems import InvalidField
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork
from meshkit.web import CurrentPrincipal, UnitOfWorkDep, require_scope

router = APIRouter(prefix="/notify", tags=["preferences"])
OWN = "(any signed-in person, no scope needed; own preferences only)"
MAILBOX_RULE = "(`notify:manage`, own institution or platform admin)"


async def _read(uow: UnitOfWork, owner: str) -> PreferencesOut:
    chosen = Preferences.from_row(await PreferenceRepository(uow.session).get(owner))
    return PreferencesOut(owner=owner, channels=chosen.effective(), digest=chosen.digest)


async def _write(uow: UnitOfWork, services: ServicesDep, owner: str, body: PreferencesBody) -> PreferencesOut:
    for kind in body.channels:
        if kind not in MESSAGE_KINDS:
            raise InvalidField(f"channels.{kind}", f"unknown message kind; known: {', '.join(MESSAGE_KINDS)}")
    channels: dict[str, list[str]] = {kind: sorted(set(chosen)) for kind, chosen in body.channels.items()}
    await PreferenceRepository(uow.session).put(owner, channels, body.digest, services.clock())
    await uow.commit()
    return await _read(uow, owner)


@router.get("/preferences", summary=f"The caller's channels per message kind and digest choice {OWN}.")
async def own_preferences(uow: UnitOfWorkDep, caller: CurrentPrincipal) -> PreferencesOut:
    return await _read(uow, caller.subject)


@router.put("/preferences", summary=f"Choose channels per message kind and the daily digest {OWN}.")
async def put_own_preferences(body: PreferencesBody, uow: UnitOfWorkDep, caller: CurrentPrincipal,
                              services: ServicesDep) -> PreferencesOut:
    return await _write(uow, services, caller.subject, body)


@router.get("/mailboxes/{code}/preferences", summary=f"A library's ILL-mailbox preferences {MAILBOX_RULE}.")
async def mailbox_preferences(code: str, uow: UnitOfWorkDep,
                              caller: Principal = require_scope("notify:manage")) -> PreferencesOut:
    caller.require_institution(code)
    return await _read(uow, f"{MAILBOX}{code}")


@router.put("/mailboxes/{code}/preferences", summary="Choose which messages a library's ILL mailbox gets by "
            f"e-mail, and whether as a daily digest {MAILBOX_RULE}.")
async def put_mailbox_preferences(code: InstitutionCode, body: PreferencesBody, uow: UnitOfWorkDep,
                                  services: ServicesDep, caller: Principal = require_scope("notify:manage")
                                  ) -> PreferencesOut:
    caller.require_institution(code)
    await require_known(uow, code)
    return await _write(uow, services, f"{MAILBOX}{code}", body)
