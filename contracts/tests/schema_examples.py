"""Example instances built from a JSON Schema, so every registered payload can be checked without hand-made data."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_STRING_FORMATS = {
    "date": "2025-03-14",
    "date-time": "2025-03-14T09:30:00Z",
    "email": "ill@library.example.org",
    "uuid": "0b8e3c5e-6f2a-4c1d-9a37-5d0f8f2b7c11",
    "uri": "https://library.example.org/iso18626",
}


def example(schema: Schema, *, full: bool, root: Schema | None = None) -> Any:
    """A value valid under `schema`: every property if `full`, else only the required ones.

    A schema that carries `examples` (pydantic `Field(examples=[...])`) is trusted for its first example,
    which is also the way out for constraints this builder does not satisfy, such as `pattern`.
    """
    root = schema if root is None else root
    node = _resolve(schema, root)
    if node.get("examples"):
        return node["examples"][0]
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        return node["enum"][0]
    for keyword in ("anyOf", "oneOf"):
        if keyword in node:
            branches = [_resolve(branch, root) for branch in node[keyword]]
            non_null = [branch for branch in branches if branch.get("type") != "null"]
            if not full and len(non_null) < len(branches):
                return None
            return example(non_null[0], full=full, root=root)
    kind = node.get("type", "object")
    if isinstance(kind, list):
        kind = next(t for t in kind if t != "null")
    if kind == "object":
        properties: Schema = node.get("properties", {})
        names = list(properties) if full else node.get("required", [])
        return {name: example(properties[name], full=full, root=root) for name in names}
    if kind == "array":
        count = max(node.get("minItems", 0), 1 if full else 0)
        return [example(node.get("items", {}), full=full, root=root) for _ in range(count)]
    if kind == "string":
        text = _STRING_FORMATS.get(node.get("format", ""), "sample")
        return text.ljust(node.get("minLength", 0), "x")[: node.get("maxLength")]
    if kind in ("integer", "number"):
        low = node.get("minimum", node.get("exclusiveMinimum", 0) + 1)
        value = min(max(low, 1), node.get("maximum", low + 1))
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    return None


def _resolve(node: Schema, root: Schema) -> Schema:
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node
