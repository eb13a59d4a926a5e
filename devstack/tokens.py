"""JWTs in the shape Supabase issues, for the local stack: its API keys and user tokens."""

from __future__ import annotations

import time
from typing import Any

import jwt

#: The JWT secret every `supabase start` stack uses out of the box.
LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"

#: `exp` of the keys `supabase start` prints (2032), so the local keys look the same.
LOCAL_KEY_EXPIRY = 1983812996


def api_key(secret: str, role: str) -> str:
    """An API key (anon or service_role) signed with the stack's JWT secret."""
    return jwt.encode(
        {"iss": "supabase-demo", "role": role, "exp": LOCAL_KEY_EXPIRY}, secret, algorithm="HS256"
    )


def user_token(
    secret: str,
    user_id: str,
    *,
    email: str | None = None,
    ttl_seconds: int = 3600,
    extra: dict[str, Any] | None = None,
) -> str:
    """An access token for a signed-in user: `sub`, `role: authenticated`, as GoTrue issues."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "supabase-demo",
        "aud": "authenticated",
        "sub": str(user_id),
        "role": "authenticated",
        "iat": now,
        "exp": now + ttl_seconds,
        "aal": "aal1",
        "session_id": None,
        "is_anonymous": False,
    }
    if email:
        claims["email"] = email
    claims.update(extra or {})
    return jwt.encode(claims, secret, algorithm="HS256")
