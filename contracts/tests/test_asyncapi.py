"""The AsyncAPI document is valid 3.0.0 and describes exactly the registered event types."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import generate
import pytest
import yaml
from asyncapi_document import message_id
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from schema_examples import example

from bibliomesh_contracts import EVENT_TYPES, EventType, new_envelope

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # asyncapi3 0.0.2 warns about its own field names
    from asyncapi3 import AsyncAPI3

DOCUMENT_URI = "urn:bibliomesh:asyncapi"


@pytest.fixture(scope="module")
def document(rendered: dict[Path, str]) -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(rendered[generate.ASYNCAPI])
    return parsed


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = document
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def message_validator(document: dict[str, Any], message_key: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(document))
    schema = {"$ref": f"{DOCUMENT_URI}#/components/messages/{message_key}/payload"}
    return Draft202012Validator(schema, registry=registry)


def test_the_document_is_a_valid_asyncapi_3_document(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    AsyncAPI3.model_validate(document)


def test_the_validator_rejects_an_invalid_document(document: dict[str, Any]) -> None:
    broken = {**document, "servers": {"production": {"protocol": "amqp"}}}  # a server needs a host

    with pytest.raises(ValueError, match="host"):
        AsyncAPI3.model_validate(broken)


def test_there_is_one_channel_and_one_send_operation_per_event_type(document: dict[str, Any]) -> None:
    names = {spec.name for spec in EVENT_TYPES}
    channels = document["channels"]
    operations = document["operations"]

    assert sorted(channel["address"] for channel in channels.values()) == sorted(names)
    assert len(operations) == len(names)
    for operation in operations.values():
        channel = resolve(document, operation["channel"]["$ref"])
        versions = sorted(spec.version for spec in EVENT_TYPES if spec.name == channel["address"])
        assert operation["action"] == "send"
        assert [resolve(document, m["$ref"]) for m in operation["messages"]] == [
            channel["messages"][f"v{version}"] for version in versions
        ]


def test_channels_are_routing_keys_on_the_durable_topic_exchange(document: dict[str, Any]) -> None:
    for channel in document["channels"].values():
        amqp = channel["bindings"]["amqp"]
        assert amqp["is"] == "routingKey"
        assert amqp["exchange"]["name"] == "bibliomesh.events"
        assert amqp["exchange"]["type"] == "topic"
        assert amqp["exchange"]["durable"] is True


def test_servers_are_rabbitmq_and_the_embedded_bus(document: dict[str, Any]) -> None:
    assert document["servers"]["production"]["host"] == "rabbitmq:5672"
    assert document["servers"]["production"]["protocol"] == "amqp"
    assert document["servers"]["embedded"]["description"]


def test_every_reference_resolves_inside_the_document(document: dict[str, Any]) -> None:
    refs = set(references(document))

    assert refs, "the document has no references at all"
    for ref in sorted(refs):
        resolve(document, ref)


@pytest.mark.parametrize("spec", EVENT_TYPES, ids=lambda spec: f"{spec.name}.v{spec.version}")
def test_a_message_payload_is_the_envelope_around_that_event(document: dict[str, Any], spec: EventType) -> None:
    payload = spec.model.model_validate(example(generate.event_schema(spec), full=True))
    envelope = new_envelope(payload, producer=spec.producer, aggregate_id="CN-DL-UNI1", aggregate_version=3)
    validator = message_validator(document, message_id(spec))

    validator.validate(envelope.model_dump(mode="json"))
    wrong_type = envelope.model_dump(mode="json") | {"type": "some.other.event"}
    with pytest.raises(ValidationError):
        validator.validate(wrong_type)
    if generate.event_schema(spec).get("required"):
        with pytest.raises(ValidationError):
            validator.validate(envelope.model_dump(mode="json") | {"payload": {}})
