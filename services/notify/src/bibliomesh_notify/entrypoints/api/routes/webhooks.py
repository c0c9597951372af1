"""`/notify/webhooks`: an institution's endpoints for machine-readable callbacks, their deliveries and redelivery.
Institution admins (`notify:manage`) manage their own institution's; platform admins any."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from bibliomesh_notify.adapters.delivery_repository import DeliveryRepository
from bibliomesh_notify.adapters.webhook_repository import WebhookRepository
from bibliomesh_notify.entrypoints.api.deps import ServicesDep
from bibliomesh_notify.entrypoints.api.schemas import DeliveryOut, WebhookCreated, WebhookIn, WebhookOut, WebhookPatch
from bibliomesh_notify.service_layer import webhooks
from meshkit.security import Principal
from meshkit.web import MAX_ID, RowId, UnitOfWorkDep, require_scope

router = APIRouter(prefix="/notify", tags=["webhooks"])
RULE = "(`notify:manage`, own institution or platform admin)"
Manager = Annotated[Principal, require_scope("notify:manage")]


def _out(row: dict[str, Any]) -> WebhookOut:
    return WebhookOut.model_validate({k: v for k, v in row.items() if k != "secret"})


def _delivery(row: dict[str, Any]) -> DeliveryOut:
    return DeliveryOut.model_validate({**row, "webhook_id": f"msg_{row['message_id']}",
                                       "body": row["context"]["body"]})


@router.post("/webhooks", status_code=201, summary=f"Register a webhook; the signing secret is in this answer only "
             f"{RULE}.")
async def create_webhook(body: WebhookIn, uow: UnitOfWorkDep, services: ServicesDep, caller: Manager
                         ) -> WebhookCreated:
    row, secret = await webhooks.register(uow, services, caller, url=body.url, event_types=body.event_types,
                                          description=body.description, institution=body.institution)
    await uow.commit()
    return WebhookCreated(**_out(row).model_dump(), secret=secret)


@router.get("/webhooks", summary=f"The institution's webhooks (platform admins: every institution's, or one "
            f"with `institution`) {RULE}.")
async def list_webhooks(uow: UnitOfWorkDep, caller: Manager,
                        institution: Annotated[str | None, Query(max_length=64)] = None) -> list[WebhookOut]:
    if institution is not None:
        caller.require_institution(institution)
    wanted = institution if institution or caller.is_platform_admin else caller.institution
    return [_out(r) for r in await WebhookRepository(uow.session).listing(wanted)]


@router.get("/webhooks/{webhook_id}", summary=f"One webhook {RULE}.")
async def get_webhook(webhook_id: RowId, uow: UnitOfWorkDep, caller: Manager) -> WebhookOut:
    return _out(await webhooks.own_webhook(uow, caller, webhook_id))


@router.patch("/webhooks/{webhook_id}", summary=f"Change a webhook's URL, event types or description, or "
              f"enable/disable it {RULE}.")
async def patch_webhook(webhook_id: RowId, body: WebhookPatch, uow: UnitOfWorkDep, services: ServicesDep,
                        caller: Manager) -> WebhookOut:
    hook = await webhooks.own_webhook(uow, caller, webhook_id)
    changed = await webhooks.change(uow, services, hook, body.model_dump(exclude_unset=True))
    await uow.commit()
    return _out(changed)


@router.delete("/webhooks/{webhook_id}", status_code=204, summary=f"Remove a webhook and its deliveries (its log, "
               f"and what waited to be sent) {RULE}.")
async def delete_webhook(webhook_id: RowId, uow: UnitOfWorkDep, caller: Manager) -> Response:
    await webhooks.remove(uow, await webhooks.own_webhook(uow, caller, webhook_id))
    await uow.commit()
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", summary=f"The webhook's delivery log, newest first {RULE}.")
async def list_deliveries(webhook_id: RowId, uow: UnitOfWorkDep, caller: Manager,
                          limit: Annotated[int, Query(ge=1, le=200)] = 50,
                          before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Deliveries with a "
                                                              "smaller id (the next page).")] = None
                          ) -> list[DeliveryOut]:
    hook = await webhooks.own_webhook(uow, caller, webhook_id)
    return [_delivery(r) for r in await DeliveryRepository(uow.session).for_webhook(hook, limit, before)]


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", status_code=202,
             summary=f"Send a delivery again, now, with the same `webhook-id` {RULE}.")
async def redeliver(webhook_id: RowId, delivery_id: RowId, uow: UnitOfWorkDep, services: ServicesDep,
                    caller: Manager) -> DeliveryOut:
    hook = await webhooks.own_webhook(uow, caller, webhook_id)
    row = await webhooks.redeliver(uow, services, hook, delivery_id)
    await uow.commit()
    services.signals.deliveries.fire()
    return _delivery(row)
