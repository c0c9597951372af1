"""Every registered payload model agrees with its committed schema: examples validate and round-trip."""

from __future__ import annotations

import json
from typing import Any

import generate
import pytest
from jsonschema import Draft202012Validator
from schema_examples import example

from bibliomesh_contracts import EVENT_TYPES, EventType, new_envelope


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
