"""`/notify/notifications`: the caller's own in-app messages. Nobody reads another person's: an id that is not
the caller's is simply not found."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from bibliomesh_notify.adapters.notification_repository import NotificationRepository
from bibliomesh_notify.entrypoints.api.deps import ServicesDep
from bibliomesh_notify.entrypoints.api.schemas import Marked, Notification, NotificationPage
from meshkit.problems import NotFound
from meshkit.web import MAX_ID, CurrentPrincipal, RowId, UnitOfWorkDep

router = APIRouter(prefix="/notify", tags=["notifications"])
OWN = "(any signed-in person, no scope needed; own notifications only, whatever the institution)"


@router.get("/notifications", summary=f"The caller's notifications, newest first, with the unread count {OWN}.")
async def list_notifications(uow: UnitOfWorkDep, caller: CurrentPrincipal,
                             limit: Annotated[int, Query(ge=1, le=100)] = 20,
                             before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="`next_before` of "
                                                                 "the previous page.")] = None) -> NotificationPage:
    repository = NotificationRepository(uow.session)
    rows = await repository.page(caller.subject, limit + 1, before)
    more = len(rows) > limit
    items = [Notification.model_validate(r) for r in rows[:limit]]
    return NotificationPage(items=items, unread=await repository.unread(caller.subject),
                            next_before=items[-1].seq if more and items else None)


@router.post("/notifications/{notification_id}/read", summary=f"Mark one of the caller's notifications read {OWN}.")
async def mark_read(notification_id: RowId, uow: UnitOfWorkDep, caller: CurrentPrincipal,
                    services: ServicesDep) -> Notification:
    repository = NotificationRepository(uow.session)
    await repository.mark_read(caller.subject, notification_id, services.clock())
    found = await repository.get(caller.subject, notification_id)
    if found is None:
        raise NotFound(f"you have no notification {notification_id}")
    await uow.commit()
    return Notification.model_validate(found)


@router.post("/notifications/read-all", summary=f"Mark all the caller's notifications read {OWN}.")
async def mark_all_read(uow: UnitOfWorkDep, caller: CurrentPrincipal, services: ServicesDep) -> Marked:
    marked = await NotificationRepository(uow.session).mark_read(caller.subject, None, services.clock())
    await uow.commit()
    return Marked(marked=marked)
