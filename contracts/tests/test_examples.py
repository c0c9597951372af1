"""Every registered payload model agrees with its committed schema: examples validate and round-trip."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import generate
import pytest
from jsonschema import Draft202012Validator
from schema_examples import example

from bibliomesh_contracts import EVENT_TYPES, EventEnvelope, EventType, new_envelope
from bibliomesh_contracts.envelope import envelope_json, new_event_id


def committed_validator(name: str) -> Draft202012Validator:
    schema = json.loads((generate.SCHEMAS / name).read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("full", [False, True], ids=["required-only", "every-field"])
@pytest.mark.parametrize("spec", EVENT_TYPES, ids=lambda spec: f"{spec.name}.v{spec.version}")
def test_an_example_payload_validates_and_round_trips(spec: EventType, full: bool) -> None:
    validator = committed_validator(generate.schema_path(spec).name)
    instance: Any = example(generate.event_schema(spec), full=full)

    validator.validate(instance)
    payload = spec.model.model_validate(instance)
    dumped = payload.model_dump(mode="json")
    validator.validate(dumped)
    assert spec.model.model_validate(dumped) == payload


@pytest.mark.parametrize("spec", EVENT_TYPES, ids=lambda spec: f"{spec.name}.v{spec.version}")
def test_an_enveloped_event_validates_against_the_envelope_schema(spec: EventType) -> None:
    payload = spec.model.model_validate(example(generate.event_schema(spec), full=True))
    envelope = new_envelope(payload, producer=spec.producer, aggregate_id="agg-1", aggregate_version=1)

    committed_validator("envelope.json").validate(envelope.model_dump(mode="json"))
    assert (envelope.type, envelope.version) == (spec.name, spec.version)


@pytest.mark.parametrize("spec", EVENT_TYPES, ids=lambda spec: f"{spec.name}.v{spec.version}")
def test_an_envelope_written_directly_is_the_envelope_model_with_every_field(spec: EventType) -> None:
    payload = spec.model.model_validate(example(generate.event_schema(spec), full=True))
    expected = EventEnvelope(
        id=uuid.uuid4(), type=spec.name, version=spec.version, occurred_at=datetime.now(UTC),
        producer=spec.producer, institution="CN-DL-UNI1", aggregate_id='agg "1" / 书', aggregate_version=7,
        correlation_id="req-1", traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        payload=payload.model_dump(mode="json"))

    written = envelope_json(payload, event_id=str(expected.id), occurred_at=expected.occurred_at,
                            producer=expected.producer, aggregate_id=expected.aggregate_id,
                            aggregate_version=expected.aggregate_version, institution=expected.institution,
                            correlation_id=expected.correlation_id, traceparent=expected.traceparent)

    committed_validator("envelope.json").validate(json.loads(written))
    assert set(json.loads(written)) == set(EventEnvelope.model_fields)  # a field added to the model is written too
    assert EventEnvelope.model_validate_json(written) == expected


def test_event_ids_are_distinct_random_uuids() -> None:
    ids = [new_event_id() for _ in range(1000)]

    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 4 and uuid.UUID(i).variant == uuid.RFC_4122 and str(uuid.UUID(i)) == i
               for i in ids)
