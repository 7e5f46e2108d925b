"""The export formats: chat records for supervised fine-tuning and preference pairs,
their JSON Schemas and the validator of a record."""

from __future__ import annotations

import json
import math
from typing import Any

SFT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "trainerlab chat SFT record",
    "type": "object",
    "required": ["messages"],
    "additionalProperties": False,
    "properties": {
        "messages": {
            "type": "array",
            "minItems": 2,
            "items": {
                "type": "object",
                "required": ["role", "content"],
                "additionalProperties": False,
                "properties": {
                    "role": {"enum": ["system", "user", "assistant"]},
                    "content": {"type": "string", "minLength": 1},
                },
            },
        }
    },
}
PREFERENCE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "trainerlab preference pair",
    "type": "object",
    "required": ["prompt", "chosen", "rejected"],
    "additionalProperties": False,
    "properties": {
        "prompt": {"type": "string", "minLength": 1},
        "chosen": {"type": "string", "minLength": 1},
        "rejected": {"type": "string", "minLength": 1},
    },
}
_JSON_TYPES = {"object": dict, "array": list, "string": str}


def _schema_errors(value: Any, schema: dict, where: str = "$") -> list[str]:
    """A validator for the subset of JSON Schema the export schemas use."""
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
        return errors
    kind = schema.get("type")
    if kind and not isinstance(value, _JSON_TYPES[kind]):
        return [f"{where}: expected {kind}, got {type(value).__name__}"]
    if kind == "string" and len(value) < schema.get("minLength", 0):
        errors.append(f"{where}: empty string")
    if kind == "object":
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{where}: missing {key!r}")
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            errors += [f"{where}: unexpected key {k!r}" for k in value if k not in props]
        for k, sub in props.items():
            if k in value:
                errors += _schema_errors(value[k], sub, f"{where}.{k}")
    if kind == "array":
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        if "items" in schema:
            for i, v in enumerate(value):
                errors += _schema_errors(v, schema["items"], f"{where}[{i}]")
    return errors


def validate_record(record: dict, fmt: str) -> list[str]:
    """Schema errors plus the rules a schema cannot say (roles in order, chosen differs from rejected)."""
    schema = SFT_SCHEMA if fmt == "sft" else PREFERENCE_SCHEMA
    errors = _schema_errors(record, schema)
    if errors:
        return errors
    if fmt == "sft":
        roles = [m["role"] for m in record["messages"]]
        if "system" in roles[1:]:
            errors.append("$.messages: a system message may only come first")
        if "user" not in roles:
            errors.append("$.messages: no user message")
        if roles[-1] != "assistant":
            errors.append("$.messages: the last message must be the assistant's")
        convo = [r for r in roles if r != "system"]
        if any(a == b for a, b in zip(convo, convo[1:])):
            errors.append("$.messages: user and assistant must alternate")
    else:
        if record["chosen"].strip() == record["rejected"].strip():
            errors.append("$: chosen and rejected are the same text")
    return errors


def _messages_from(row: dict, prompt_col: str, response_col: str, system: str | None) -> dict:
    if "messages" in row and row["messages"] is not None and not (isinstance(row["messages"], float)):
        msgs = row["messages"]
        if isinstance(msgs, str):
            msgs = json.loads(msgs)
        msgs = [{"role": str(m.get("role")), "content": m.get("content")} for m in list(msgs)]
    else:
        msgs = [
            {"role": "user", "content": row.get(prompt_col)},
            {"role": "assistant", "content": row.get(response_col)},
        ]
    if system:
        msgs = [{"role": "system", "content": system}] + msgs
    return {"messages": msgs}


def _text_value(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v
