"""The signature a receiver checks: HMAC-SHA256 over "<unix seconds>.<body>" with the
subscription's secret, sent as `Loyalty-Signature: t=<unix seconds>,v1=<hex>`. The timestamp
is signed so that a receiver can refuse replays older than its tolerance."""

import hashlib
import hmac

HEADER = "Loyalty-Signature"


def signature(secret: str, timestamp_s: int, body: bytes) -> str:
    signed = str(timestamp_s).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp_s},v1={digest}"


def verify(secret: str, header: str, body: bytes, now_s: int, tolerance_s: int = 300) -> bool:
    """What a receiver does (and our tests): the signature matches and is recent."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp_s = int(fields["t"])
    except (KeyError, ValueError):
        return False
    expected = signature(secret, timestamp_s, body)
    return abs(now_s - timestamp_s) <= tolerance_s and hmac.compare_digest(expected, header)
