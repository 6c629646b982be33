"""Webhook signatures, Stripe's scheme: X-O2C-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">.

Standard library only, so a receiver can copy `verify_signature` as it is. The timestamp is inside the
signed text, so a captured request cannot be replayed after `tolerance` seconds.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-O2C-Signature"


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The X-O2C-Signature header value for `body`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify_signature(
    secret: str, header: str, body: bytes | str, tolerance: int = 300, *, now: float | None = None
) -> bool:
    """True if `header` signs exactly `body` with `secret` and was made within `tolerance` seconds of now.

    Pass the raw request body, before any JSON parsing: re-serialising changes the bytes.
    """
    if isinstance(body, str):
        body = body.encode()
    timestamp = None
    candidates = []
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
