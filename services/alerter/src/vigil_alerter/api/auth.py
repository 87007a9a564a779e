"""Bearer-token guard of Vigil's own endpoints (/api/vigil/v1).

``require_token(token, handler)`` wraps a handler: no token configured → 503 (the endpoints
are never open); no ``Authorization: Bearer`` header or a wrong token → 401 with
``WWW-Authenticate: Bearer``. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import SecretStr

__all__ = ["Handler", "require_token"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="vigil-alerter"'}


def require_token(token: SecretStr | None, handler: Handler) -> Handler:
    """``handler`` behind the bearer token ``token`` (None: always 503)."""
    expected = token.get_secret_value().encode() if token is not None else None

    async def guarded(request: web.Request) -> web.StreamResponse:
        if not expected:
            return web.json_response(
                {"error": "the API token is not configured (VIGIL_ALERTER_API_TOKEN)"},
                status=503,
            )
        if not _authorized(request.headers.get("Authorization", ""), expected):
            return web.json_response(
                {"error": "missing or invalid bearer token"}, status=401, headers=_CHALLENGE
            )
        return await handler(request)

    return guarded


def _authorized(header: str, expected: bytes) -> bool:
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), expected)
