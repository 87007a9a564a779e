"""Claude failures, split by who is at fault.

:class:`ClaudeUnavailableError` is the service's fault, or the network's: what the circuit
breaker counts (429 once the SDK's retries are spent, 529 overloaded, other 5xx, timeouts,
connection failures; a batch request that errored or expired). :class:`ClaudeRejectedError`
is our request's fault (400, 401, 403, 404, 413, an undecodable frame): retrying cannot help
and the breaker ignores it. :func:`translated` turns the SDK's exceptions into these.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final, Literal

import anthropic

__all__ = [
    "ClaudeRejectedError",
    "ClaudeUnavailableError",
    "UnavailableKind",
    "kind_of_error_type",
    "translated",
]

UnavailableKind = Literal["rate_limit", "overloaded", "server", "timeout", "connection"]

_REJECTED_KINDS: Final[dict[int, str]] = {
    400: "bad_request",
    401: "authentication",
    402: "billing",
    403: "permission",
    404: "not_found",
    413: "too_large",
}

_ERROR_TYPES: Final[dict[str, UnavailableKind]] = {
    "rate_limit_error": "rate_limit",
    "overloaded_error": "overloaded",
    "timeout_error": "timeout",
}


class ClaudeUnavailableError(Exception):
    """Claude could not answer now (counted by the circuit breaker); `kind` says how."""

    def __init__(self, kind: UnavailableKind, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind: UnavailableKind = kind


class ClaudeRejectedError(Exception):
    """Our request was refused (not counted by the breaker); `kind` names the refusal."""

    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.status = status


def kind_of_error_type(error_type: str) -> UnavailableKind:
    """The unavailability kind of an API error `type` (a batch result's); else `server`."""
    return _ERROR_TYPES.get(error_type, "server")


def _status_error(exc: anthropic.APIStatusError) -> Exception:
    status = exc.status_code
    if status == 429:
        return ClaudeUnavailableError("rate_limit", str(exc))
    if status == 529 or isinstance(exc, anthropic.OverloadedError):
        return ClaudeUnavailableError("overloaded", str(exc))
    if status == 408 or status == 504:
        return ClaudeUnavailableError("timeout", str(exc))
    if status >= 500 or status == 409:
        return ClaudeUnavailableError("server", str(exc))
    return ClaudeRejectedError(_REJECTED_KINDS.get(status, f"http_{status}"), str(exc), status)


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise the SDK's errors inside the block as Claude{Unavailable,Rejected}Error."""
    try:
        yield
    except anthropic.APITimeoutError as exc:
        raise ClaudeUnavailableError("timeout", str(exc)) from exc
    except anthropic.APIConnectionError as exc:
        raise ClaudeUnavailableError("connection", str(exc)) from exc
    except anthropic.APIStatusError as exc:
        raise _status_error(exc) from exc
    except anthropic.APIResponseValidationError as exc:
        raise ClaudeUnavailableError("server", str(exc)) from exc
