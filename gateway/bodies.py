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
        raise RequestValidationError([_problem("the body must be application/json")])
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors: list[Any] = [
            {**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)
        ]
        raise RequestValidationError(errors) from None


def _problem(message: str) -> dict[str, Any]:
    return {"type": "content_type", "loc": ("body",), "msg": message, "input": None}
