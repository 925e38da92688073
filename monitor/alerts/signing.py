"""Standard Webhooks signatures: sign what we send, verify what a receiver got. Pure.

Signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the key is the base64 part of the
`whsec_` secret; `webhook-signature` is a space-separated list of `v1,<base64 HMAC-SHA256>`.

Ours rather than the `standardwebhooks` package (1.1.0, no dependencies), which is no shorter
for the sending side (one HMAC either way) and whose `verify` reads the wall clock with a fixed
5-minute tolerance (no `now` to test replay protection with) and raises ValueError, not its
verification error, on a malformed signature entry. The published test vector is our test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

from monitor.errors import MonitorError
from monitor.settings.alerts import decode_secret

TOLERANCE_S = 300  # receivers reject timestamps further off than this (replay protection)


class SignatureError(MonitorError):
    """A webhook whose signature, or timestamp, does not check out."""


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one message."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(decode_secret(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """All three Standard Webhooks headers plus the content type."""
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: int = TOLERANCE_S,
) -> None:
    """Raise SignatureError unless `body` was signed with `secret` recently; header names are
    matched case-insensitively."""
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        webhook_id = lowered["webhook-id"]
        timestamp = int(lowered["webhook-timestamp"])
        signatures = lowered["webhook-signature"]
    except (KeyError, ValueError):
        raise SignatureError("missing or malformed webhook-* headers") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise SignatureError(f"timestamp {timestamp} is outside the {tolerance_s} s tolerance")
    expected = sign(secret, webhook_id, timestamp, body).encode()
    for candidate in signatures.split():
        if hmac.compare_digest(candidate.encode(), expected):
            return
    raise SignatureError("no matching v1 signature")
