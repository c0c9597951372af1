"""The AsyncAPI 3.0.0 document describing every registered event on the `bibliomesh.events` topic exchange."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bibliomesh_contracts import EventType

EXCHANGE = "bibliomesh.events"
AMQP_BINDING_VERSION = "0.3.0"
Schema = dict[str, Any]


def channel_id(name: str) -> str:
    """AsyncAPI keys allow no dots: `directory.institution.created` -> `directory_institution_created`."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def message_id(spec: EventType) -> str:
    """Component key of one event type and version, e.g. `directory_institution_created_v1`."""
    return f"{channel_id(spec.name)}_v{spec.version}"


def inline_schema(schema: Schema, key: str) -> Schema:
    """A standalone JSON Schema placed at `#/components/schemas/<key>`, its local `$ref`s rewritten to match."""

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: f"#/components/schemas/{key}/{v[2:]}" if k == "$ref" and v.startswith("#/") else rewrite(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    # `$id` would start a new base URI, so the rewritten references would no longer resolve inside the document.
    return {k: v for k, v in rewrite(schema).items() if k not in ("$id", "$schema")}


def build(envelope: Schema, payloads: dict[str, Schema], event_types: Iterable[EventType], version: str) -> Schema:
    """Build the document from the envelope's schema and `payloads`, keyed by `message_id(spec)`."""
    by_name: dict[str, list[EventType]] = {}
    for spec in sorted(event_types, key=lambda spec: (spec.name, spec.version)):
        by_name.setdefault(spec.name, []).append(spec)
    schemas: Schema = {"EventEnvelope": inline_schema(envelope, "EventEnvelope")}
    messages: Schema = {}
    channels: Schema = {}
    operations: Schema = {}
    for name, versions in by_name.items():
        cid = channel_id(name)
        channels[cid] = _channel(name, versions)
        operations[f"send_{cid}"] = _send_operation(cid, versions)
        for spec in versions:
            key = message_id(spec)
            schemas[key] = inline_schema(payloads[key], key)
            messages[key] = _message(spec, key)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Bibliomesh events",
            "version": version,
            "description": (
                "Every event the Bibliomesh services publish. Each travels in the same envelope, on the topic "
                f"exchange `{EXCHANGE}`, with its type as routing key; consumers bind with patterns such as "
                "`directory.#`. A breaking change to a payload is a new version, published alongside the old one."
            ),
        },
        "defaultContentType": "application/json",
        "servers": _servers(),
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def _servers() -> Schema:
    return {
        "production": {
            "host": "rabbitmq:5672",
            "protocol": "amqp",
            "protocolVersion": "0.9.1",
            "description": f"RabbitMQ; `{EXCHANGE}` is a durable topic exchange and messages are persistent.",
        },
        "embedded": {
            # AsyncAPI requires host and protocol; this bus lives inside the one-process launcher.
            "host": "localhost",
            "protocol": "embedded",
            "description": (
                "The in-process bus used when every service runs in one process (`bus_url=embedded`): the same "
                "routing, retries and dead-lettering as RabbitMQ, kept durable in a SQLite file under DATA_DIR."
            ),
        },
    }


def _channel(name: str, versions: list[EventType]) -> Schema:
    return {
        "address": name,
        "title": name,
        "description": versions[-1].summary,
        "messages": {f"v{spec.version}": {"$ref": f"#/components/messages/{message_id(spec)}"} for spec in versions},
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {"name": EXCHANGE, "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"},
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }


def _message(spec: EventType, key: str) -> Schema:
    envelope_fields = {
        "type": {"const": spec.name},
        "version": {"const": spec.version},
        "producer": {"const": spec.producer},
        "payload": {"$ref": f"#/components/schemas/{key}"},
    }
    return {
        "name": key,
        "title": f"{spec.name} v{spec.version}",
        "summary": spec.summary,
        "contentType": "application/json",
        "payload": {
            "allOf": [
                {"$ref": "#/components/schemas/EventEnvelope"},
                {"type": "object", "properties": envelope_fields},
            ]
        },
        "bindings": {"amqp": {"messageType": spec.name, "bindingVersion": AMQP_BINDING_VERSION}},
        "tags": [{"name": spec.producer}],
    }


def _send_operation(cid: str, versions: list[EventType]) -> Schema:
    producers = sorted({spec.producer for spec in versions})
    return {
        "action": "send",
        "channel": {"$ref": f"#/channels/{cid}"},
        "messages": [{"$ref": f"#/channels/{cid}/messages/v{spec.version}"} for spec in versions],
        "summary": f"{', '.join(producers)} publishes {versions[0].name}.",
        "tags": [{"name": producer} for producer in producers],
        "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": AMQP_BINDING_VERSION}},
    }
