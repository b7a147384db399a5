"""Request bodies in either of the forms MyRewards accepts: JSON, or HTML form data
(`application/x-www-form-urlencoded`, the seed's preferred form) with Rails-style nested keys.
Any failure is a RequestValidationError: 400 `invalid_request`.

`multipart/form-data` is refused: Starlette parses it only with `python-multipart`, which is not
a dependency of the project; a form of text fields needs no multipart."""

from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from gateway.bodies import JSON_CONTENT_TYPE, problem, validated
from gateway.myrewards.forms import FIELDS_MAX, nest

Model = TypeVar("Model", bound=BaseModel)
FORM_TYPE = "application/x-www-form-urlencoded"
BODY_BYTES_MAX = 1_000_000
# Postgres' text cannot hold NUL; refused here rather than failing when stored.
NUL_MESSAGE = "text must not contain NUL characters"


async def read_body(request: Request, model: type[Model]) -> Model:
    content_type = request.headers.get("content-type")
    is_json = content_type is not None and JSON_CONTENT_TYPE.match(content_type) is not None
    is_form = content_type is not None and content_type.lower().lstrip().startswith(FORM_TYPE)
    if not (is_json or is_form):
        raise RequestValidationError([problem(f"the body must be application/json or {FORM_TYPE}")])
    body = await request.body()
    if len(body) > BODY_BYTES_MAX:
        raise RequestValidationError([problem("the body is too large")])
    if not is_json:
        return validated(model, form_fields(body))
    if b"\x00" in body or b"\\u0000" in body:
        raise RequestValidationError([problem(NUL_MESSAGE)])
    return validated(model, body)


def form_fields(body: bytes) -> dict[str, Any]:
    """The nested fields of an urlencoded body (UTF-8)."""
    try:
        text = body.decode()
        fields = parse_qsl(
            text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=FIELDS_MAX
        )
        if any("\x00" in key or "\x00" in value for key, value in fields):
            raise ValueError(NUL_MESSAGE)
        return nest(fields)
    except (UnicodeDecodeError, ValueError) as exc:  # FormError is a ValueError
        raise RequestValidationError([problem(f"malformed form data: {exc}")]) from None
