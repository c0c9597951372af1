"""Registering and changing webhooks: checked URLs and event types, a secret shown once, redelivery on request."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from bibliomesh_notify.adapters.delivery_repository import DeliveryRepository
from bibliomesh_notify.adapters.webhook_repository import WebhookRepository
from bibliomesh_notify.domain.webhook_events import pattern_problem
from bibliomesh_notify.service_layer.institutions import require_known
from bibliomesh_notify.service_layer.services import NotifyServices
from meshkit.outbound_urls import resolved_problem, url_problem
from meshkit.problems import Conflict, InvalidField, NotFound
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def check_url(url: str, services: NotifyServices) -> None:
    allow = services.settings.webhook_allow_private
    problem = url_problem(url, allow_private=allow) or await resolved_problem(url, allow_private=allow)
    if problem:
        raise InvalidField("url", problem)


def check_event_types(patterns: list[str]) -> list[str]:
    for index, pattern in enumerate(patterns):
        problem = pattern_problem(pattern)
        if problem:
            raise InvalidField(f"event_types.{index}", problem)
    return list(dict.fromkeys(patterns))


async def register(uow: UnitOfWork, services: NotifyServices, caller: Principal, *, url: str,
                   event_types: list[str], description: str | None, institution: str | None
                   ) -> tuple[dict[str, Any], str]:
    owner = institution or caller.institution
    caller.require_institution(owner)
    await require_known(uow, owner)
    await check_url(url, services)
    secret = new_secret()
    now = services.clock()
    repository = WebhookRepository(uow.session)
    webhook_id = await repository.add({
        "institution": owner, "url": url, "event_types": check_event_types(event_types), "description": description,
        "secret": services.box.seal(secret), "enabled": True, "disabled_reason": None, "consecutive_failures": 0,
        "created_at": now, "updated_at": now, "version": 1})
    found = await repository.get(webhook_id)
    assert found is not None
    return found, secret


async def own_webhook(uow: UnitOfWork, caller: Principal, webhook_id: int) -> dict[str, Any]:
    found = await WebhookRepository(uow.session).get(webhook_id)
    if found is None:
        raise NotFound(f"no webhook {webhook_id}")
    caller.require_institution(found["institution"])
    return found


async def change(uow: UnitOfWork, services: NotifyServices, hook: dict[str, Any], changes: dict[str, Any]
                 ) -> dict[str, Any]:
    now = services.clock()
    values: dict[str, Any] = {"updated_at": now}
    if changes.get("url") is not None:
        await check_url(changes["url"], services)
        values["url"] = changes["url"]
    if changes.get("event_types") is not None:
        values["event_types"] = check_event_types(changes["event_types"])
    if "description" in changes:
        values["description"] = changes["description"]
    enable = changes.get("enabled")
    if enable is not None:
        values.update(enabled=enable, disabled_reason=None if enable else "disabled by an admin",
                      consecutive_failures=0)
    repository = WebhookRepository(uow.session)
    await repository.update(hook["id"], hook["version"], values)
    if enable is True:
        await DeliveryRepository(uow.session).release_webhook(hook, now)
    elif enable is False:
        await DeliveryRepository(uow.session).hold_webhook(hook)
    found = await repository.get(hook["id"])
    assert found is not None
    return found


async def remove(uow: UnitOfWork, hook: dict[str, Any]) -> None:
    """The webhook and every delivery naming it go together: sent ones (its log) have no reader left, and waiting
    ones must never reach an endpoint registered later."""
    await WebhookRepository(uow.session).delete(hook["id"])
    # After the webhook's row: on PostgreSQL that waits for a transaction still queueing for it (see enabled_for).
    await DeliveryRepository(uow.session).forget_webhook(hook["id"])


async def redeliver(uow: UnitOfWork, services: NotifyServices, hook: dict[str, Any], delivery_id: int
                    ) -> dict[str, Any]:
    repository = DeliveryRepository(uow.session)
    delivery = await repository.of_webhook(hook, delivery_id)
    if delivery is None:
        raise NotFound(f"webhook {hook['id']} has no delivery {delivery_id}")
    if not hook["enabled"]:
        raise Conflict("the webhook is disabled: enable it first (what was held for it is then sent)")
    if delivery["status"] == "sending":
        raise Conflict("the delivery is being sent right now")
    await repository.requeue(hook, delivery_id, services.clock())
    found = await repository.of_webhook(hook, delivery_id)
    assert found is not None
    return found
