"""Backward-compatibility check between two JSON Schemas of the same event type and version.

Within one version, events written under the old schema must still validate under the new one, and
a field keeps its type, so producers and consumers on either side of a deploy keep understanding each other.
"""

from __future__ import annotations

import json
from typing import Any

Schema = dict[str, Any]
Alternative = tuple[str, Schema]
"""A resolved schema with no `anyOf`/`oneOf`, and the `$ref` it was reached through ("" if none)."""

_JSON_TYPE = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}


def breaking_changes(old_schema: Schema, new_schema: Schema) -> list[str]:
    """List the changes from `old_schema` to `new_schema` that break existing producers or consumers.

    Reported: a property removed, a property whose type changed (through `$ref`, nested objects,
    array items, maps and `anyOf` with null), a property that became required, enum values removed.
    Adding an optional property is compatible.
    """
    comparison = _Comparison(old_schema, new_schema)
    comparison.compare(old_schema, new_schema, "")
    return comparison.problems


class _Comparison:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self.problems: list[str] = []
        self.seen: set[tuple[str, str]] = set()

    def compare(self, old: Schema, new: Schema, path: str) -> None:
        old_alts, new_alts = _alternatives(old, self.old_root), _alternatives(new, self.new_root)
        where = path or "(root)"
        old_types, new_types = _types(old_alts), _types(new_alts)
        if old_types != new_types:
            self.problems.append(f"{where}: type changed from {_show(old_types)} to {_show(new_types)}")
            return
        old_enum, new_enum = _enum(old_alts), _enum(new_alts)
        if old_enum is not None and new_enum is not None and (removed := old_enum - new_enum):
            self.problems.append(f"{where}: enum values removed: {', '.join(sorted(removed))}")
        old_variants, new_variants = _non_null(old_alts), _non_null(new_alts)
        if len(old_variants) == 1 and len(new_variants) == 1:
            self.compare_shapes(old_variants[0], new_variants[0], path)
            return
        # A union of models: pair the alternatives by title (pydantic uses the class name).
        new_by_title = {schema.get("title"): (ref, schema) for ref, schema in new_variants}
        for ref, schema in old_variants:
            match = new_by_title.get(schema.get("title"))
            if match is None:
                self.problems.append(f"{where}: variant {schema.get('title')!r} removed")
            else:
                self.compare_shapes((ref, schema), match, path)

    def compare_shapes(self, old: Alternative, new: Alternative, path: str) -> None:
        (old_ref, old_schema), (new_ref, new_schema) = old, new
        # A recursive model refers to itself: compare each pair of definitions once.
        if old_ref or new_ref:
            if (old_ref, new_ref) in self.seen:
                return
            self.seen.add((old_ref, new_ref))
        old_props: Schema = old_schema.get("properties", {})
        new_props: Schema = new_schema.get("properties", {})
        for name, old_prop in old_props.items():
            if name not in new_props:
                self.problems.append(f"{_join(path, name)}: removed")
            else:
                self.compare(old_prop, new_props[name], _join(path, name))
        newly_required = set(new_schema.get("required", ())) - set(old_schema.get("required", ()))
        self.problems.extend(f"{_join(path, name)}: became required" for name in sorted(newly_required))
        for keyword, suffix in (("items", "[]"), ("additionalProperties", "{}")):
            if isinstance(old_schema.get(keyword), dict) and isinstance(new_schema.get(keyword), dict):
                self.compare(old_schema[keyword], new_schema[keyword], path + suffix)


def _alternatives(node: Schema, root: Schema) -> list[Alternative]:
    """Flatten `anyOf`/`oneOf` after following `$ref` and single-element `allOf` (both emitted by pydantic)."""
    ref = ""
    while True:
        if "$ref" in node:
            ref = node["$ref"]
            node = {**_pointer(root, ref), **{k: v for k, v in node.items() if k != "$ref"}}
        elif isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
            node = {**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}
        else:
            break
    for keyword in ("anyOf", "oneOf"):
        if isinstance(node.get(keyword), list):
            return [alt for branch in node[keyword] for alt in _alternatives(branch, root)]
    return [(ref, node)]


def _pointer(root: Schema, ref: str) -> Schema:
    if not ref.startswith("#"):
        raise ValueError(f"only local references are supported, got {ref!r}")
    node: Any = root
    for part in filter(None, ref[1:].split("/")):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    if not isinstance(node, dict):
        raise ValueError(f"{ref!r} does not point at a schema")
    return node


def _own_types(schema: Schema) -> frozenset[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return frozenset({declared})
    if isinstance(declared, list):
        return frozenset(declared)
    values = [schema["const"]] if "const" in schema else schema.get("enum")
    if values is not None:
        return frozenset(_JSON_TYPE.get(type(value), "object") for value in values)
    return frozenset({"any"})


def _types(alternatives: list[Alternative]) -> frozenset[str]:
    return frozenset().union(*(_own_types(schema) for _, schema in alternatives))


def _enum(alternatives: list[Alternative]) -> frozenset[str] | None:
    """The allowed values as JSON text, or None when any value of the type is allowed."""
    values: set[str] = set()
    for _, schema in alternatives:
        if "const" in schema:
            values.add(json.dumps(schema["const"], sort_keys=True))
        elif "enum" in schema:
            values.update(json.dumps(value, sort_keys=True) for value in schema["enum"])
        elif _own_types(schema) != {"null"}:
            return None
    return frozenset(values)


def _non_null(alternatives: list[Alternative]) -> list[Alternative]:
    """The alternatives of a union without `null`, which the type comparison already covered."""
    return [alt for alt in alternatives if _own_types(alt[1]) != {"null"}] or alternatives


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(types: frozenset[str]) -> str:
    return " | ".join(sorted(types))
