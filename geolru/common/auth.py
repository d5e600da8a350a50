"""Challenge-response with the cluster secret: the secret never crosses the wire."""

from __future__ import annotations

import hmac


def registration_mac(secret: str, nonce: str, fields: list[bytes]) -> str:
    """HMAC-SHA256 over the master's nonce and the REGISTER fields."""
    message = nonce.encode() + b" " + b" ".join(fields)
    return hmac.new(secret.encode(), message, "sha256").hexdigest()
