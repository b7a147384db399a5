"""Bodies read by hand follow FastAPI's rules: JSON only, every problem a validation error."""

import pytest
from fastapi.exceptions import RequestValidationError

from gateway.bodies import json_body
from gateway.partner.models import PartnerEventRequest

VALID = b'{"user_id": "usr_abc123", "event_type": "article_read"}'


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/vnd.x+json"],
)
def test_json_content_types_are_read(content_type: str) -> None:
    body = json_body(PartnerEventRequest, content_type, VALID)
    assert (body.user_id, body.event_type) == ("usr_abc123", "article_read")


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/jsonx", "multipart/form-data"]
)
def test_other_content_types_are_invalid(content_type: str | None) -> None:
    with pytest.raises(RequestValidationError):
        json_body(PartnerEventRequest, content_type, VALID)


@pytest.mark.parametrize(
    ("content", "location"),
    [(b'{"user_id": "u"', ("body",)), (b'{"user_id": 5, "event_type": "x"}', ("body", "user_id"))],
)
def test_a_malformed_body_names_where(content: bytes, location: tuple[str, ...]) -> None:
    with pytest.raises(RequestValidationError) as invalid:
        json_body(PartnerEventRequest, "application/json", content)
    assert invalid.value.errors()[0]["loc"][: len(location)] == location
