"""What to do after an attempt: pure, so every branch is unit-tested without a receiver.

Only transient failures are retried (no answer, a timeout, 408, 429, 5xx), with exponential
backoff up to `attempts_max`; any other answer outside 2xx is final, since sending the same
request again would get the same answer."""

from dataclasses import dataclass
from datetime import datetime, timedelta

RETRIED_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    attempts_max: int = 8
    backoff_first_s: float = 2.0
    backoff_max_s: float = 3600.0
    timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try: the receiver's status, or the transport error when there was no answer."""

    http_status: int | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Next:
    status: str  # "delivered", "pending" (try again at `retry_at`) or "failed"
    retry_at: datetime | None = None


def after(attempt: Attempt, attempts_made: int, now: datetime, policy: DeliveryPolicy) -> Next:
    status = attempt.http_status
    if status is not None and 200 <= status < 300:
        return Next("delivered")
    transient = status is None or status >= 500 or status in RETRIED_STATUSES
    if not transient or attempts_made >= policy.attempts_max:
        return Next("failed")
    delay_s = min(policy.backoff_max_s, policy.backoff_first_s * 2 ** (attempts_made - 1))
    return Next("pending", now + timedelta(seconds=delay_s))
