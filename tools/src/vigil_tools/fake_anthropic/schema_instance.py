"""JSON Schema instances: a deterministic valid one, a check, and a deliberately broken one.

Written by hand: no JSON Schema library is among the dependencies, and tool schemas use a
small subset. Supported keywords: `type` (one or a list), `enum`, `const`, `properties`,
`required`, `additionalProperties` (bool), `items`, `minItems`/`maxItems`,
`minLength`/`maxLength`, `pattern` (checked, not generated), `minimum`/`maximum`,
`exclusiveMinimum`/`exclusiveMaximum`, `anyOf`/`oneOf` (the first branch is generated).

- :func:`instance` builds the same valid value for the same schema every time: every
  property present, the first enum value, numbers at the middle of their bounds, strings a
  readable sample within their length bounds, arrays at `minItems` (at least one item).
- :func:`violations` lists what is wrong with a value (empty: valid).
- :func:`malformed` is a valid instance with its first required property given the wrong
  type, so that a client's strict validation must reject it.
"""

from __future__ import annotations

import math
import re
from typing import Any

Schema = dict[str, Any]


def _first_type(schema: Schema) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    return str(kind)


def _sample_string(schema: Schema, name: str) -> str:
    low = int(schema.get("minLength", 1))
    high = int(schema.get("maxLength", 80))
    text = f"sample {name}".strip() if name else "sample"
    while len(text) < low:
        text += " sample"
    return text[: max(high, low)]


def _sample_number(schema: Schema, integer: bool) -> float | int:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is not None and high is not None:
        value: float = (float(low) + float(high)) / 2
    elif low is not None:
        value = float(low) + 1
    elif high is not None:
        value = float(high) - 1
    else:
        value = 0.0
    return math.floor(value) if integer else value


def instance(schema: Schema, name: str = "") -> Any:
    """A valid value of `schema`, the same for the same schema."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return instance(schema[key][0], name)
    kind = _first_type(schema)
    if kind == "object":
        props: dict[str, Schema] = schema.get("properties", {})
        return {key: instance(sub, key) for key, sub in props.items()}
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), 1)
        count = min(count, int(schema.get("maxItems", count)))
        item = schema.get("items", {})
        return [instance(item, f"{name} {i + 1}") for i in range(count)]
    if kind in ("number", "integer"):
        return _sample_number(schema, kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _sample_string(schema, name)


_TYPE_CHECKS: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _type_ok(schema: Schema, value: Any) -> bool:
    kinds = schema.get("type")
    if kinds is None:
        return True
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return any(_TYPE_CHECKS.get(k, lambda v: True)(value) for k in kinds)


def _bounds(schema: Schema, value: Any, path: str) -> list[str]:
    out: list[str] = []
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(f"{path}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{path}: does not match {schema['pattern']!r}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{path}: below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{path}: above {schema['maximum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            out.append(f"{path}: not above {schema['exclusiveMinimum']}")
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            out.append(f"{path}: not below {schema['exclusiveMaximum']}")
    return out


def _object(schema: Schema, value: dict[str, Any], path: str) -> list[str]:
    props: dict[str, Schema] = schema.get("properties", {})
    out = [f"{path}.{key}: required" for key in schema.get("required", []) if key not in value]
    for key, item in value.items():
        if key in props:
            out += violations(props[key], item, f"{path}.{key}")
        elif schema.get("additionalProperties") is False:
            out.append(f"{path}.{key}: not allowed")
    return out


def _array(schema: Schema, value: list[Any], path: str) -> list[str]:
    out: list[str] = []
    if len(value) < schema.get("minItems", 0):
        out.append(f"{path}: fewer than {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.append(f"{path}: more than {schema['maxItems']} items")
    for i, item in enumerate(value):
        out += violations(schema.get("items", {}), item, f"{path}[{i}]")
    return out


def violations(schema: Schema, value: Any, path: str = "$") -> list[str]:
    """What is wrong with `value` against `schema` (an empty list when it is valid)."""
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            if any(not violations(sub, value, path) for sub in schema[key]):
                return []
            return [f"{path}: matches no branch of {key}"]
    if "const" in schema and value != schema["const"]:
        return [f"{path}: must be {schema['const']!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: not one of {schema['enum']!r}"]
    if not _type_ok(schema, value):
        return [f"{path}: not of type {schema.get('type')}"]
    out = _bounds(schema, value, path)
    if isinstance(value, dict):
        out += _object(schema, value, path)
    elif isinstance(value, list):
        out += _array(schema, value, path)
    return out


def _wrong_type(schema: Schema) -> Any:
    return 42 if _first_type(schema) in ("string", "array", "object", "boolean") else "42"


def malformed(schema: Schema) -> Any:
    """An instance that violates `schema`: the first required property has the wrong type."""
    value = instance(schema)
    if not isinstance(value, dict):
        return {"unexpected": value}
    props: dict[str, Schema] = schema.get("properties", {})
    required = schema.get("required") or list(props)
    if not required:
        return {**value, "unexpected": True}
    key = required[0]
    value[key] = _wrong_type(props.get(key, {}))
    return value
