"""The Anthropic API's error answers: status, `error.type`, message, and the JSON shape.

Every error the fake sends has the real body,
`{"type": "error", "error": {"type": ..., "message": ...}, "request_id": "req_..."}`, and a
`request-id` header, so the SDK maps it to the same exception class as the real API
(400 BadRequestError, 401 AuthenticationError, 404 NotFoundError, 429 RateLimitError,
500 InternalServerError, 529 OverloadedError).
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from aiohttp import web

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def new_id(prefix: str) -> str:
    """An id shaped like the API's (`msg_01...`, `toolu_01...`, `msgbatch_01...`)."""
    return f"{prefix}_01{secrets.token_hex(11)}"


class ApiError(Exception):
    """An error answer: raised anywhere in a handler, turned into a response by the app."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})

    @property
    def error_type(self) -> str:
        """The `error.type` the real API sends with this status."""
        return ERROR_TYPES.get(self.status, "api_error")

    def body(self) -> dict[str, Any]:
        """The error object (also used inside batch results as `error`)."""
        return {"type": "error", "error": {"type": self.error_type, "message": self.message}}


def invalid(message: str) -> ApiError:
    """A 400 invalid_request_error."""
    return ApiError(400, message)


def error_response(error: ApiError) -> web.Response:
    """The HTTP answer for an error, with the body and headers the real API sends."""
    request_id = new_id("req")
    body = {**error.body(), "request_id": request_id}
    headers = {"request-id": request_id, **error.headers}
    return web.Response(
        status=error.status,
        body=orjson.dumps(body),
        content_type="application/json",
        headers=headers,
    )
