"""Sending queued webhook messages, each on its own (at most `delivery_concurrency` at once), so a slow or dead
endpoint holds only its own deliveries. An endpoint failing `webhook_disable_after` times in a row is disabled,
its queued messages held (sent once it is enabled again), and its institution's admins are told."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx

from bibliomesh_notify.adapters import webhook_client
from bibliomesh_notify.adapters.delivery_repository import DeliveryRepository
from bibliomesh_notify.adapters.webhook_repository import WebhookRepository
from bibliomesh_notify.domain.messages import Audience
from bibliomesh_notify.service_layer import outcomes
from bibliomesh_notify.service_layer.context import webhook_disabled_context
from bibliomesh_notify.service_layer.fan_out import send_message
from bibliomesh_notify.service_layer.recipients import Directory, Parties
from bibliomesh_notify.service_layer.services import NotifyServices
from meshkit.outbound_urls import resolved_problem
from meshkit.runtime import ServiceRuntime
from meshkit.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


async def deliver(runtime: ServiceRuntime, services: NotifyServices, client: httpx.AsyncClient, row: dict[str, Any],
                  owner: str) -> bool:
    """Post one claimed delivery and record what happened; True if the endpoint took it."""
    async with runtime.unit_of_work() as uow:
        hook = await WebhookRepository(uow.session).get(row["webhook_id"])
    if hook is None or hook["institution"] != row["institution"]:
        # Deleted meanwhile (its deliveries go with it), or not this delivery's: never posted anywhere.
        async with runtime.unit_of_work() as uow:
            await DeliveryRepository(uow.session).discard(row["id"], owner)
            await uow.commit()
        log.warning("webhook delivery dropped: no webhook of its institution has its webhook_id", extra={
            "delivery_id": row["id"], "webhook_id": row["webhook_id"], "institution": row["institution"]})
        return False
    if not hook["enabled"]:
        async with runtime.unit_of_work() as uow:
            await DeliveryRepository(uow.session).finish(row["id"], owner, {"status": "held"})
            await uow.commit()
        return False
    problem = await resolved_problem(hook["url"], allow_private=services.settings.webhook_allow_private)
    try:
        secret = services.box.open(hook["secret"])
    except ValueError as exc:  # replicas configured with different NOTIFY_SECRETS_KEYs
        problem = str(exc)
    if problem:
        result = webhook_client.PostResult(None, f"not sent: {problem}")
    else:
        result = await webhook_client.post(client, hook["url"], secret, f"msg_{row['message_id']}",
                                           row["context"]["body"])
    async with runtime.unit_of_work() as uow:
        await _record(uow, services, hook, row, owner, result)
        await uow.commit()
    return result.ok


async def _record(uow: UnitOfWork, services: NotifyServices, hook: dict[str, Any], row: dict[str, Any], owner: str,
                  result: webhook_client.PostResult) -> None:
    now = services.clock()
    settings = services.settings
    values = outcomes.sent(row, now, result.status_code) if result.ok else outcomes.failed(
        row, now, result.error or "failed", settings, max_attempts=settings.webhook_max_attempts,
        status_code=result.status_code)
    if not await DeliveryRepository(uow.session).finish(row["id"], owner, values):
        return  # our lease ran out and another replica took the delivery over: its outcome counts
    failures = await WebhookRepository(uow.session).record_attempt(hook["id"], result.ok)
    if result.ok or failures < settings.webhook_disable_after:
        return
    if await WebhookRepository(uow.session).disable(hook["id"], f"{failures} failed attempts in a row", now):
        log.warning("webhook disabled", extra={"webhook_id": hook["id"], "failures": failures})
        await DeliveryRepository(uow.session).hold_webhook(hook)
        directory = Directory(uow.session)
        await send_message(uow, services, directory, kind="admin.webhook_disabled",
                           recipients=await directory.resolve(Audience.INSTITUTION_ADMINS,
                                                              Parties(institution=hook["institution"])),
                           context_for=lambda _language: webhook_disabled_context(hook["url"], failures,
                                                                                  result.error),
                           key=f"webhook:{hook['id']}:disabled:{hook['version']}", event_type=None)


def webhook_worker(services: NotifyServices) -> Callable[[ServiceRuntime], Awaitable[None]]:
    async def notify_webhooks(runtime: ServiceRuntime) -> None:
        settings = services.settings
        owner = uuid.uuid4().hex
        in_flight: set[asyncio.Task[bool]] = set()
        async with webhook_client.new_client(settings.webhook_timeout_seconds, settings.delivery_concurrency,
                                             allow_private=settings.webhook_allow_private) as client:
            try:
                while True:
                    free = settings.delivery_concurrency - len(in_flight)
                    claimed: list[dict[str, Any]] = []
                    if free > 0:
                        async with runtime.unit_of_work() as uow:
                            claimed = await DeliveryRepository(uow.session).claim(
                                "webhook", services.clock(), free, timedelta(seconds=settings.lease_seconds), owner)
                            await uow.commit()
                    for row in claimed:
                        task = asyncio.create_task(_safely(deliver(runtime, services, client, row, owner), row))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                    if not claimed:
                        await services.signals.deliveries.wait(settings.delivery_poll_seconds)
            finally:
                for task in in_flight:
                    task.cancel()
                await asyncio.gather(*in_flight, return_exceptions=True)

    return notify_webhooks


async def _safely(sending: Awaitable[bool], row: dict[str, Any]) -> bool:
    try:
        return await sending
    except Exception:  # the lease runs out and the delivery is tried again
        log.exception("webhook delivery crashed", extra={"delivery_id": row["id"]})
        return False
