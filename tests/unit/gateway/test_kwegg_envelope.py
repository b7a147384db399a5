"""Kwegg routes answer errors in Kwegg's envelope, with the API's stable codes."""

from typing import Annotated

import httpx
from fastapi import APIRouter, FastAPI, Header
from pydantic import BaseModel

from gateway import errors
from gateway.errors import Rejected, Unauthorized
from gateway.kwegg.envelope import KweggRoute
from schemas.ledger import RejectionReason

router = APIRouter(route_class=KweggRoute)


class Body(BaseModel):
    userId: str


@router.post("/login")
async def login(body: Body, key: Annotated[str | None, Header()] = None) -> dict[str, str]:
    if key is None:
        raise Unauthorized("no key")
    if key == "poor":
        raise Rejected(402, "insufficient_points", "too few points")
    return {"userId": body.userId}


async def call(**kwargs: object) -> httpx.Response:
    app = FastAPI()
    errors.install(app)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post("/login", **kwargs)  # type: ignore[arg-type]


async def test_api_errors_keep_their_status_and_code() -> None:
    answer = await call(json={"userId": "12"})
    assert answer.status_code == 401
    assert answer.json() == {
        "success": False,
        "message": "no key",
        "error": "unauthorized",
        "data": None,
    }
    answer = await call(json={"userId": "12"}, headers={"key": "poor"})
    assert (answer.status_code, answer.json()["error"]) == (402, "insufficient_points")


async def test_malformed_requests_are_400_invalid_request() -> None:
    answer = await call(json={"user": "12"}, headers={"key": "k"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert answer.json()["message"].startswith("userId:")


async def test_success_passes_through() -> None:
    answer = await call(json={"userId": "12"}, headers={"key": "k"})
    assert (answer.status_code, answer.json()) == (200, {"userId": "12"})


def test_a_ledger_rejection_answers_with_its_reasons_status_and_code() -> None:
    poor = Rejected.of(RejectionReason.INSUFFICIENT_POINTS, "balance 3 < 5")
    assert (poor.status, poor.code, poor.message) == (402, "insufficient_points", "balance 3 < 5")
    budget = Rejected.of("programme_budget_exhausted", None)
    assert (budget.status, budget.code, budget.message) == (
        412,
        "programme_budget_exhausted",
        "programme_budget_exhausted",
    )
    unexplained = Rejected.of(None, "")
    assert (unexplained.status, unexplained.code, unexplained.message) == (
        406,
        "invalid_transaction",
        "invalid_transaction",
    )
