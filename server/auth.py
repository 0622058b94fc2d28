"""Signed bearer tokens: ``base64url(json claims) + "." + base64url(hmac_sha256(secret, payload))``.

Why: a stateless token the server can verify without a database, with subject, role and expiry; the same
mechanism signs resume tokens (role ``resume``). Tokens are compared in constant time and never logged.
Alternative rejected: JWT libraries — an extra dependency for three fields and one algorithm.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from .errors import AuthError

ROLES = ("player", "spectator", "service", "admin", "resume")


@dataclass(frozen=True)
class Claims:
    sub: str
    role: str
    exp: float  # unix seconds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and verifies tokens with one HMAC secret (at least 16 bytes)."""

    def __init__(self, secret: bytes | str | None = None) -> None:
        if secret is None:
            secret = secrets.token_bytes(32)
        if isinstance(secret, str):
            secret = secret.encode()
        if len(secret) < 16:
            raise AuthError("secret must be at least 16 bytes; set WORLDLOOM_SECRET to a longer value")
        self._secret = secret

    def issue(self, sub: str, role: str, ttl: float, now: float) -> str:
        """A token for ``sub`` acting as ``role`` valid for ``ttl`` seconds from ``now``."""
        if role not in ROLES:
            raise AuthError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        payload = _b64(json.dumps({"sub": sub, "role": role, "exp": round(now + ttl, 3)},
                                  separators=(",", ":"), sort_keys=True).encode())
        return payload + "." + _b64(self._sign(payload))

    def verify(self, token: str, now: float, role: str | None = None) -> Claims:
        """Check signature, expiry and (optionally) role. Raises ``AuthError`` with a safe reason."""
        payload, sep, signature = token.partition(".")
        if not sep or not payload or not signature:
            raise AuthError("malformed token")
        try:
            given = _unb64(signature)
        except ValueError:
            raise AuthError("malformed token") from None
        if not hmac.compare_digest(given, self._sign(payload)):
            raise AuthError("token signature is invalid")
        try:
            data = json.loads(_unb64(payload))
            claims = Claims(sub=str(data["sub"]), role=str(data["role"]), exp=float(data["exp"]))
        except (ValueError, KeyError, TypeError):
            raise AuthError("malformed token") from None
        if claims.exp < now:
            raise AuthError("token expired; ask the server operator for a new one")
        if role is not None and claims.role != role:
            raise AuthError(f"token is for role {claims.role!r}, not {role!r}")
        return claims

    def _sign(self, payload: str) -> bytes:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
