"""A committed event schema may only change compatibly; a breaking change needs a new version of the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import generate
import pytest
from compat import breaking_changes
from pydantic import BaseModel, create_model

from bibliomesh_contracts import EVENT_TYPES

BY_FILE_NAME = {generate.schema_path(spec).name: spec for spec in EVENT_TYPES}
COMMITTED = sorted(path for path in generate.SCHEMAS.glob("*.json") if path.name != "envelope.json")


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.name)
def test_committed_schema_is_compatible_with_the_current_model(path: Path) -> None:
    spec = BY_FILE_NAME.get(path.name)
    assert spec is not None, f"{path.name} has no registered model; delete it once no consumer uses that version"

    problems = breaking_changes(json.loads(path.read_text()), generate.event_schema(spec))

    assert not problems, (
        f"{spec.name} v{spec.version} changed incompatibly:\n  " + "\n  ".join(problems)
        + "\nBump the version: add a V2 model and keep V1."
    )


def test_committed_envelope_is_compatible_with_the_current_envelope() -> None:
    committed = json.loads((generate.SCHEMAS / "envelope.json").read_text())

    assert breaking_changes(committed, generate.envelope_schema()) == []


# Unit tests of the check itself, on schemas pydantic generates the way it does for the real payloads.


def payload_schema(*, policy: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """The schema of a payload with a nested `policy` model (reached through `$defs`) and the given fields."""
    policy_fields = {"days": (int, ...), "kind": (Literal["loan", "copy"], ...)} | (policy or {})
    policy_model = create_model("Policy", **policy_fields)
    base = {"code": (str, ...), "policy": (policy_model, ...), "note": (str | None, None), "tags": (list[str], ...)}
    model: type[BaseModel] = create_model("Payload", **(base | fields))
    return model.model_json_schema()


OLD = payload_schema()


def test_an_identical_schema_has_no_breaking_change() -> None:
    assert breaking_changes(OLD, payload_schema()) == []


def test_adding_an_optional_field_is_compatible() -> None:
    assert breaking_changes(OLD, payload_schema(branch=(str | None, None))) == []


def test_a_removed_field_is_reported() -> None:
    new = payload_schema()
    del new["properties"]["tags"]
    new["required"].remove("tags")

    assert breaking_changes(OLD, new) == ["tags: removed"]


def test_a_field_removed_from_a_nested_model_is_reported() -> None:
    new = payload_schema()
    del new["$defs"]["Policy"]["properties"]["days"]
    new["$defs"]["Policy"]["required"].remove("days")

    assert breaking_changes(OLD, new) == ["policy.days: removed"]


def test_a_retyped_field_is_reported() -> None:
    assert breaking_changes(OLD, payload_schema(code=(int, ...))) == ["code: type changed from string to integer"]


def test_a_retyped_field_is_reported_inside_nested_models_and_arrays() -> None:
    new = payload_schema(policy={"days": (str, ...)}, tags=(list[int], ...))

    assert breaking_changes(OLD, new) == [
        "policy.days: type changed from integer to string",
        "tags[]: type changed from string to integer",
    ]


def test_a_nullable_field_changing_its_type_or_losing_null_is_reported() -> None:
    assert breaking_changes(OLD, payload_schema(note=(int | None, None))) == [
        "note: type changed from null | string to integer | null"
    ]
    assert breaking_changes(OLD, payload_schema(note=(str, "none"))) == [
        "note: type changed from null | string to string"
    ]


def test_a_field_that_becomes_required_is_reported() -> None:
    assert breaking_changes(OLD, payload_schema(note=(str | None, ...))) == ["note: became required"]


def test_a_new_required_field_is_reported() -> None:
    assert breaking_changes(OLD, payload_schema(branch=(str, ...))) == ["branch: became required"]


def test_a_removed_enum_value_is_reported_and_an_added_one_is_not() -> None:
    assert breaking_changes(OLD, payload_schema(policy={"kind": (Literal["loan"], ...)})) == [
        'policy.kind: enum values removed: "copy"'
    ]
    assert breaking_changes(OLD, payload_schema(policy={"kind": (Literal["loan", "copy", "scan"], ...)})) == []


def string_tree() -> dict[str, Any]:
    class Node(BaseModel):
        name: str
        parent: Node | None = None
        children: list[Node] = []

    return Node.model_json_schema()


def integer_tree() -> dict[str, Any]:
    class Node(BaseModel):
        name: int
        parent: Node | None = None
        children: list[Node] = []

    return Node.model_json_schema()


def test_a_recursive_model_is_compared_without_looping() -> None:
    assert breaking_changes(string_tree(), string_tree()) == []
    assert breaking_changes(string_tree(), integer_tree()) == ["name: type changed from string to integer"]


def test_the_generator_refuses_to_overwrite_a_schema_with_a_breaking_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    committed = tmp_path / "catalog.record.changed.v1.json"
    committed.write_text(json.dumps(OLD))
    new = payload_schema()
    del new["properties"]["tags"]
    new["required"].remove("tags")
    monkeypatch.setattr(generate, "SCHEMAS", tmp_path)
    monkeypatch.setattr(generate, "render", lambda: {committed: json.dumps(new)})

    assert generate.main([]) == 1
    assert json.loads(committed.read_text()) == OLD
    assert "tags: removed" in capsys.readouterr().out

    assert generate.main(["--allow-breaking"]) == 0
    assert json.loads(committed.read_text()) == new
