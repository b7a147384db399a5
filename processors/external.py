"""Programmatic rewards: asks a programme's external API for a rule's points (Kwegg), with a
timeout and a bounded number of retries on transient failures, and falls back to the rule's
configured points when the API cannot answer."""

import logging
from collections.abc import Callable, Iterable
from decimal import ROUND_FLOOR, Decimal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

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
            found[call.rule_id] = answered if answered is not None else fallback(call, config)
        return found

    async def fetch(self, call: ExternalCall, event: EventV1) -> int | None:
        """The API's points; None when it cannot answer. Only transient failures (no answer, a
        5xx) are retried, `attempts_max` times in all, with doubling waits between attempts."""
        payload = {**call.body, "event": event.model_dump(mode="json")}
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts_max),
            wait=wait_exponential(multiplier=self._backoff_s, min=self._backoff_s),
            retry=retry_if_exception_type((httpx.TransportError, _ServerError)),
            before_sleep=_log_attempt(call),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    response = await self._http.request(
                        call.method,
                        call.url,
                        headers=dict(call.headers),
                        json=None if call.method == "GET" else payload,
                    )
                    if response.status_code >= 500:
                        raise _ServerError(response.status_code)
                    return _parsed(call, response)
        except (httpx.TransportError, _ServerError):
            metrics.EXTERNAL_FAILURES.labels(call.rule_id, "unavailable").inc()
        return None


class _ServerError(Exception):
    """A 5xx answer: transient, worth another attempt."""


def _log_attempt(call: ExternalCall) -> Callable[[RetryCallState], None]:
    def log_attempt(state: RetryCallState) -> None:
        error = None if state.outcome is None else state.outcome.exception()
        log.warning("external points %s: %r (attempt %d)", call.url, error, state.attempt_number)

    return log_attempt


def _parsed(call: ExternalCall, response: httpx.Response) -> int | None:
    if response.is_success:
        try:
            return ExternalAnswer.model_validate_json(response.content).points
        except ValidationError:
            metrics.EXTERNAL_FAILURES.labels(call.rule_id, "bad_answer").inc()
            return None
    metrics.EXTERNAL_FAILURES.labels(call.rule_id, f"http_{response.status_code}").inc()
    return None


def fallback(call: ExternalCall, config: ProgrammeConfig) -> int:
    """The rule's configured points, used when its API cannot answer."""
    rule = config.rule(call.rule_id)
    points = Decimal(0) if rule is None else Decimal(rule.points)
    return int(points.to_integral_value(rounding=ROUND_FLOOR))
