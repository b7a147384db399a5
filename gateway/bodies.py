"""Request bodies read by hand, with FastAPI's rules: JSON only (`application/json` or
`application/*+json`), validated by a pydantic model; any failure is a RequestValidationError,
which the API answers 400 `invalid_request` like every other."""

import re
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)
JSON_CONTENT_TYPE = re.compile(r"\s*application/([^;\s]*\+)?json\s*(;|$)", re.IGNORECASE)


def json_body(model: type[Model], content_type: str | None, body: bytes) -> Model:
    if content_type is None or JSON_CONTENT_TYPE.match(content_type) is None:
        raise RequestValidationError([problem("the body must be application/json", "content_type")])
    return validated(model, body)


def validated(model: type[Model], data: object) -> Model:
    """`data` checked by `model`: JSON text when it is bytes, else the parsed fields (a form's).
    Each problem is located in the body, as FastAPI locates those of the bodies it reads."""
    try:
        if isinstance(data, bytes):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as exc:
        errors: list[Any] = [
            {**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)
        ]
        raise RequestValidationError(errors) from None


def problem(message: str, kind: str = "body", field: str | None = None) -> dict[str, Any]:
    """A problem with the body as a whole, or with one of its fields, in the shape of
    pydantic's errors."""
    location = ("body",) if field is None else ("body", field)
    return {"type": kind, "loc": location, "msg": message, "input": None}
