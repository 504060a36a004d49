"""Sign and verify Lever webhook deliveries: HMAC-SHA256 over token + triggeredAt
(integrations/lever/README.md §9.4)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from typing import Any

# Lever sends lowercase hex (Python's hexdigest). Upper-case is rejected rather than folded:
# nothing legitimate produces it, so it can only be a hand-made or tampered body.
_SIGNATURE_RE = re.compile(r"[0-9a-f]{64}")
# triggeredAt is epoch milliseconds. The bound keeps str() cheap and inside Python's
# int-to-str digit limit, which would otherwise raise ValueError on a hostile 5000-digit number.
_TRIGGERED_AT_MAX = 2**63 - 1


def sign(*, signature_token: str, token: str, triggered_at: int) -> str:
    """The ``signature`` Lever puts in a delivery: lowercase hex HMAC-SHA256."""
    if isinstance(triggered_at, bool) or not isinstance(triggered_at, int):
        raise TypeError("triggered_at must be an int (epoch milliseconds)")
    message = f"{token}{triggered_at}".encode()
    # The one-shot C digest: no HMAC object per delivery (same bytes as hmac.new().hexdigest()).
    return hmac.digest(signature_token.encode(), message, hashlib.sha256).hex()


def verify(body: Mapping[str, Any], *, signature_tokens: Iterable[str]) -> bool:
    """True when ``body`` carries a valid signature for one of ``signature_tokens``.

    Pure and total: any malformed body (wrong types, missing fields, not a mapping) is False,
    never an exception. Several tokens may be given so the previous one keeps working during
    rotation; empty or None entries are skipped. Only ``token`` and ``triggeredAt`` are
    signed, so ``data`` must still be treated as untrusted (re-fetch from Lever).
    """
    if isinstance(signature_tokens, str | bytes):
        # A bare string would be iterated character by character and fail every delivery.
        raise TypeError("signature_tokens must be a list of tokens, not a single string")
    if not isinstance(body, Mapping):
        return False
    token = body.get("token")
    triggered_at = body.get("triggeredAt")
    signature = body.get("signature")
    if not isinstance(token, str) or not token:
        return False
    # bool is an int subclass, and JSON true must not pass as the timestamp 1.
    if isinstance(triggered_at, bool) or not isinstance(triggered_at, int):
        return False
    if not 0 <= triggered_at <= _TRIGGERED_AT_MAX:
        return False
    if not isinstance(signature, str) or not _SIGNATURE_RE.fullmatch(signature):
        return False

    matched = False
    for signature_token in signature_tokens:
        if not isinstance(signature_token, str) or not signature_token:
            continue
        try:
            expected = sign(signature_token=signature_token, token=token, triggered_at=triggered_at)
        except UnicodeEncodeError:  # lone surrogates from a hostile JSON "\ud800" escape
            continue
        # No early exit: the time taken doesn't depend on which token matched.
        matched |= hmac.compare_digest(expected, signature)
    return matched
