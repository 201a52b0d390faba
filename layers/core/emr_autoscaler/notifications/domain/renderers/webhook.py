"""Generic webhook message: a JSON document of the notice, signed with HMAC-SHA256. Pure.

Signature: `X-Emr-Autoscaler-Signature: sha256=<hex>` is HMAC-SHA256 with the shared secret over
`<timestamp>.<body>`, where `<timestamp>` is the `X-Emr-Autoscaler-Timestamp` header (Unix seconds). A receiver
recomputes it, compares in constant time, and refuses timestamps older than a few minutes (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.domain.renderers.common import truncate

SCHEMA = "emr-autoscaler.notice/1"
SIGNATURE_HEADER = "X-Emr-Autoscaler-Signature"
TIMESTAMP_HEADER = "X-Emr-Autoscaler-Timestamp"
MESSAGE_LIMIT = 16_000


def render_webhook(notice: Notice) -> bytes:
    """Render_webhook returns the UTF-8 JSON body for `notice` (keys in a fixed order, so it can be signed)."""
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "kind": notice.kind.value,
        "severity": notice.severity.value,
        "title": notice.title,
        "occurred_at": notice.occurred_at.isoformat().replace("+00:00", "Z"),
        "region": notice.region,
        "event_id": notice.event_id,
        "cluster": {
            "id": notice.cluster_id,
            "name": notice.cluster_name,
            "profile": notice.profile,
            "console_url": notice.console_url,
        },
        "step": {"id": notice.step_id, "name": notice.step_name},
        "state": notice.state,
        "reason": {
            "code": notice.reason_code,
            "message": truncate(notice.reason_message, MESSAGE_LIMIT) if notice.reason_message else None,
        },
        "log_location": notice.log_location,
        "action": notice.action,
        "folded": {"count": notice.folded_count, "window_s": notice.folded_window_s, "text": notice.folded_text},
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _mac(body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign_webhook(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """Sign_webhook returns the timestamp and signature headers for `body` (timestamp in Unix seconds)."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: f"sha256={_mac(body, secret, timestamp)}"}


def verify_webhook(body: bytes, secret: str, headers: dict[str, str], now: int, tolerance_s: int = 300) -> bool:
    """Verify_webhook is what a receiver does: recompute the signature and refuse stale timestamps (seconds)."""
    try:
        timestamp = int(headers.get(TIMESTAMP_HEADER, ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = f"sha256={_mac(body, secret, timestamp)}"
    return hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER, ""))
