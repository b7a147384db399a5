"""Programmatic rewards: asks a programme's external API for a rule's points (Kwegg), with a
timeout and a bounded number of retries on transient failures, and falls back to the rule's
configured points when the API cannot answer."""

import asyncio
import logging
from collections.abc import Iterable
from decimal import ROUND_FLOOR, Decimal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from processors import metrics
from processors.engine import ExternalCall
from schemas.events import EventV1
from schemas.programme import ProgrammeConfig

log = logging.getLogger(__name__)


class ExternalAnswer(BaseModel):
    """The fixed response shape every external points API must follow."""

    model_config = ConfigDict(extra="ignore")

    points: int = Field(ge=0, le=10**9)


class ExternalPoints:
    def __init__(self, timeout_s: float, attempts_max: int, backoff_s: float) -> None:
        self._http = httpx.AsyncClient(timeout=timeout_s)
        self._attempts_max = attempts_max
        self._backoff_s = backoff_s

    async def close(self) -> None:
        await self._http.aclose()

    async def amounts(
        self, calls: Iterable[ExternalCall], event: EventV1, config: ProgrammeConfig
    ) -> dict[str, int]:
        """Each call's points, or the rule's configured points when the API fails."""
        found = {}
        for call in calls:
            answered = await self.fetch(call, event)
            found[call.rule_id] = answered if answered is not None else _fallback(call, config)
        return found

    async def fetch(self, call: ExternalCall, event: EventV1) -> int | None:
        payload = {**call.body, "event": event.model_dump(mode="json")}
        for attempt in range(self._attempts_max):
            try:
                response = await self._http.request(
                    call.method,
                    call.url,
                    headers=dict(call.headers),
                    json=None if call.method == "GET" else payload,
                )
            except httpx.TransportError as exc:
                log.warning("external points %s: %s (attempt %d)", call.url, exc, attempt + 1)
            else:
                if response.status_code < 500:
                    return _parsed(call, response)
            await asyncio.sleep(self._backoff_s * 2**attempt)
        metrics.EXTERNAL_FAILURES.labels(call.rule_id, "unavailable").inc()
        return None


def _parsed(call: ExternalCall, response: httpx.Response) -> int | None:
    if response.is_success:
        try:
            return ExternalAnswer.model_validate_json(response.content).points
        except ValidationError:
            metrics.EXTERNAL_FAILURES.labels(call.rule_id, "bad_answer").inc()
            return None
    metrics.EXTERNAL_FAILURES.labels(call.rule_id, f"http_{response.status_code}").inc()
    return None


def _fallback(call: ExternalCall, config: ProgrammeConfig) -> int:
    rule = config.rule(call.rule_id)
    points = Decimal(0) if rule is None else Decimal(rule.points)
    return int(points.to_integral_value(rounding=ROUND_FLOOR))
