"""Standard Webhooks signing and verification, against the published example vector."""

from __future__ import annotations

import pytest

from monitor.alerts.signing import SignatureError, sign, signed_headers, verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_reproduces_the_standard_webhooks_example() -> None:
    assert sign(SECRET, MSG_ID, TIMESTAMP, BODY) == EXPECTED


def headers(**overrides: str) -> dict[str, str]:
    values = {
        "Webhook-Id": MSG_ID,
        "Webhook-Timestamp": str(TIMESTAMP),
        "Webhook-Signature": EXPECTED,
    }
    values.update(overrides)
    return values


def test_verify_accepts_the_example_and_any_listed_signature() -> None:
    verify(SECRET, headers(), BODY, now=TIMESTAMP)
    verify(
        SECRET,
        headers(**{"Webhook-Signature": f"v1,bm9wZQ== {EXPECTED}"}),
        BODY,
        now=TIMESTAMP + 10,
    )


@pytest.mark.parametrize(
    ("secret", "hdrs", "body", "now"),
    [
        (SECRET, headers(), b'{"test": 2432232315}', TIMESTAMP),  # tampered body
        ("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", headers(), BODY, TIMESTAMP),  # wrong key
        (SECRET, headers(), BODY, TIMESTAMP + 301),  # too old: replay
        (SECRET, headers(**{"Webhook-Id": "msg_other"}), BODY, TIMESTAMP),  # id not signed
        (SECRET, {"webhook-id": MSG_ID}, BODY, TIMESTAMP),  # headers missing
    ],
)
def test_verify_rejects(secret: str, hdrs: dict[str, str], body: bytes, now: int) -> None:
    with pytest.raises(SignatureError):
        verify(secret, hdrs, body, now=now)


def test_signed_headers_round_trip() -> None:
    sent = signed_headers(SECRET, "msg_1", 1_700_000_000, b"{}")
    assert sent["webhook-timestamp"] == "1700000000"
    verify(SECRET, sent, b"{}", now=1_700_000_000)
