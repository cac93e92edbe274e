"""The public base of every model we return: strict about input, lean in the tool schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


def lean_schema(schema: dict[str, Any]) -> None:
    """Tool schemas sit in the client's context on every turn: drop what a reader does not need.

    Optional fields are never sent as null (responses exclude None), so they show as their plain type.
    """
    schema.pop("title", None)
    schema.pop("additionalProperties", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        variants = prop.get("anyOf", [])
        if len(variants) == 2 and {"type": "null"} in variants and prop.get("default", 0) is None:
            del prop["anyOf"], prop["default"]
            prop.update(next(v for v in variants if v != {"type": "null"}))


def leaner_schema(schema: dict[str, Any]) -> None:
    """Output-only models sit in a tool's schema on every turn: no defaults either."""
    lean_schema(schema)
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class Model(BaseModel):
    """Every model we return: unknown fields are an error, the schema stays lean."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=lean_schema)


class OutputModel(Model):
    """A model that is only ever output: its schema drops defaults too."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=leaner_schema)
