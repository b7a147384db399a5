"""Keeps the published OpenAPI document accurate: this API answers validation failures with
400 `invalid_request` (the mgPass contract), never FastAPI's default 422, and the bodies that a
route reads by hand (see `component`) are described like the ones FastAPI reads."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF_TEMPLATE = "#/components/schemas/{model}"
_hand_read: list[type[BaseModel]] = []


def component(model: type[BaseModel]) -> dict[str, str]:
    """A reference to `model`'s schema for a route's `openapi_extra`; the schema itself is
    published in the document's components."""
    if model not in _hand_read:
        _hand_read.append(model)
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _with_hand_read_bodies(_without_422(document))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _with_hand_read_bodies(document: dict[str, Any]) -> dict[str, Any]:
    if not _hand_read:
        return document
    _, found = models_json_schema(
        [(model, "validation") for model in _hand_read], ref_template=REF_TEMPLATE
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in found.get("$defs", {}).items():
        schemas.setdefault(name, schema)
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


def _without_422(document: dict[str, Any]) -> dict[str, Any]:
    for path in document.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document
