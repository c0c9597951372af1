"""The envelope every event travels in, whatever its type."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventEnvelope(BaseModel):
    """One event on the bus. The payload is validated against the model registered for `type` and `version`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: uuid.UUID = Field(description="Unique event id; consumers deduplicate on it.")
    type: str = Field(description="Dotted event type, e.g. `catalog.holdings.changed`; also the routing key.")
    version: int = Field(ge=1, description="Version of the payload schema for this type.")
    occurred_at: datetime = Field(description="When the change happened (UTC, ISO 8601).")
    producer: str = Field(description="The service that produced the event, e.g. `auth`.")
    institution: str | None = Field(
        default=None, description="Code of the institution the event concerns, if any (ISIL style)."
    )
    aggregate_id: str = Field(description="Id of the entity that changed; order is kept per aggregate.")
    aggregate_version: int = Field(
        ge=0, description="Version of that entity after the change; consumers ignore older versions."
    )
    correlation_id: str | None = Field(default=None, description="Id tying together events caused by one request.")
    traceparent: str | None = Field(default=None, description="W3C traceparent of the operation that caused it.")
    payload: dict[str, Any] = Field(description="Event data; its schema depends on `type` and `version`.")


def new_envelope(
    payload: BaseModel,
    *,
    producer: str,
    aggregate_id: str,
    aggregate_version: int,
    institution: str | None = None,
    correlation_id: str | None = None,
    traceparent: str | None = None,
) -> EventEnvelope:
    """Wrap a registered payload model in an envelope, taking type and version from the model: the validated
    model of the text `envelope_json` writes, so that there is one way an envelope is put together."""
    return EventEnvelope.model_validate_json(envelope_json(
        payload, event_id=new_event_id(), occurred_at=datetime.now(UTC), producer=producer,
        aggregate_id=aggregate_id, aggregate_version=aggregate_version, institution=institution,
        correlation_id=correlation_id, traceparent=traceparent))


def new_event_id() -> str:
    """A random (version 4) UUID as text, from the same 122 bits of `os.urandom` as `uuid.uuid4`, formatted
    without building a `UUID` object (a catalogue import makes three event ids a record)."""
    data = bytearray(os.urandom(16))
    data[6] = data[6] & 0x0F | 0x40
    data[8] = data[8] & 0x3F | 0x80
    text = data.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_quote = json.encoder.encode_basestring  # a JSON string literal (C), non-ASCII kept as it is


def _text_or_null(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def envelope_json(
    payload: BaseModel,
    *,
    event_id: str,
    occurred_at: datetime,
    producer: str,
    aggregate_id: str,
    aggregate_version: int,
    institution: str | None = None,
    correlation_id: str | None = None,
    traceparent: str | None = None,
) -> str:
    """An event's envelope as JSON, written directly: the payload serialized once by its own model, the
    envelope's few fields quoted in place. Producers writing many events (a catalogue import
    writes three a record) skip building and re-validating an `EventEnvelope` for each, which cost more than the
    rest of the event; consumers validate what they receive anyway."""
    from bibliomesh_contracts.registry import event_type_of

    spec = event_type_of(type(payload))
    return (f'{{"id":{_quote(event_id)},"type":{_quote(spec.name)},"version":{int(spec.version)},'
            f'"occurred_at":"{occurred_at.isoformat()}","producer":{_quote(producer)},'
            f'"institution":{_text_or_null(institution)},"aggregate_id":{_quote(aggregate_id)},'
            f'"aggregate_version":{int(aggregate_version)},"correlation_id":{_text_or_null(correlation_id)},'
            f'"traceparent":{_text_or_null(traceparent)},"payload":{payload.model_dump_json()}}}')
