"""One ONVIF operation call: per-call timeout, bounded retry, metrics, logs, CameraError.

:meth:`Caller.call` awaits one SOAP operation built by a factory (a fresh coroutine per
attempt). Each attempt is bounded by :attr:`CallPolicy.timeout_s`. Transport failures
(connection refused or reset, timeouts, HTTP errors without a SOAP body) are retried up to
:attr:`CallPolicy.attempts` in all, with jittered exponential backoff
(:func:`vigil_runtime.backoff.retry_async`); a SOAP fault is the camera's answer and is never
retried. Whatever finally fails is raised as :class:`CameraError` with the operation and one of
the kinds ``unreachable``, ``timeout``, ``auth``, ``refused``, ``unsupported``, ``invalid``.
Every attempt counts in ``vigil_optimizer_onvif_calls_total`` and
``vigil_optimizer_onvif_call_seconds``. Log lines carry the host and operation, never a
credential (the messages come from the camera's fault text or the exception type).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import zeep.exceptions

from vigil_optimizer.camera_link import CameraError
from vigil_optimizer.onvif.metrics import ONVIF_CALL_SECONDS, ONVIF_CALLS
from vigil_runtime.backoff import Backoff, retry_async
from vigil_runtime.logging import get_logger

__all__ = ["CallPolicy", "Caller", "fault_kind"]

_log = get_logger("vigil_optimizer.onvif")

_UNSUPPORTED = {
    "actionnotsupported",
    "notsupported",
    "nosuchservice",
    "servicenotsupported",
    "operationprohibited",
    "invalidaction",
}
_AUTH = {"notauthorized", "failedauthentication", "invalidsecurity", "failedcheck"}


@dataclass(frozen=True)
class CallPolicy:
    """Timeout of one attempt, attempts in all, and the backoff between them."""

    timeout_s: float = 10.0
    attempts: int = 3
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 2.0

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.attempts < 1:
            raise ValueError("need timeout_s > 0 and attempts >= 1")


class _Transient(Exception):
    """A transport failure worth another attempt (wraps the original error)."""

    def __init__(self, kind: str, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.kind = kind
        self.error = error


def _local(qname: object) -> str:
    """The local part of a QName, a ``prefix:name`` string or ``{ns}name``, lower-cased."""
    text = str(qname or "")
    return text.rsplit("}", 1)[-1].rsplit(":", 1)[-1].strip().lower()


def fault_kind(fault: zeep.exceptions.Fault) -> str:
    """``auth``, ``unsupported`` or ``refused`` from a SOAP fault's code and subcodes."""
    names = {_local(fault.code), *(_local(code) for code in fault.subcodes or [])}
    if names & _AUTH:
        return "auth"
    if names & _UNSUPPORTED:
        return "unsupported"
    message = (fault.message or "").lower()
    if "not authorized" in message or "unauthorized" in message:
        return "auth"
    if "not supported" in message or "not implemented" in message or "unknown" in message:
        return "unsupported"
    return "refused"


def _classify(error: BaseException) -> tuple[str, bool]:
    """(CameraError kind, whether another attempt may help) for an exception of a call."""
    if isinstance(error, zeep.exceptions.Fault):
        return fault_kind(error), False
    if isinstance(error, TimeoutError):
        return "timeout", True
    if isinstance(error, zeep.exceptions.TransportError):
        if error.status_code in (401, 403):
            return "auth", False
        if error.content:
            return "invalid", False  # an answer that is not SOAP: asking again will not help
        return "unreachable", True
    if isinstance(error, aiohttp.ClientError | OSError):
        return "unreachable", True
    # zeep.exceptions.Error, ValueError, AttributeError...: an answer that cannot be read
    return "invalid", False


def _describe(error: BaseException) -> str:
    """A short message without request data (faults: the camera's reason text)."""
    if isinstance(error, zeep.exceptions.Fault):
        return (error.message or "SOAP fault").strip()[:300]
    if isinstance(error, zeep.exceptions.TransportError):
        return f"HTTP {error.status_code}"
    return type(error).__name__


class Caller:
    """Runs ONVIF operations of one camera under a :class:`CallPolicy`."""

    def __init__(self, host: str, policy: CallPolicy) -> None:
        self.host = host
        self.policy = policy

    async def call(self, operation: str, factory: Callable[[], Awaitable[Any]]) -> Any:
        """Await ``factory()`` as the ONVIF ``operation``; see the module docstring."""
        backoff = Backoff(self.policy.backoff_initial_s, self.policy.backoff_max_s)
        try:
            return await retry_async(
                lambda: self._attempt(operation, factory),
                retry_on=(_Transient,),
                attempts=self.policy.attempts,
                backoff=backoff,
                timeout=None,
                on_retry=lambda n, exc, delay: _log.info(
                    "onvif_retry",
                    host=self.host,
                    operation=operation,
                    attempt=n,
                    error=_describe(exc.error)
                    if isinstance(exc, _Transient)
                    else type(exc).__name__,
                    delay_s=round(delay, 3),
                ),
            )
        except _Transient as exc:
            raise CameraError(operation, exc.kind, _describe(exc.error)) from exc.error

    async def _attempt(self, operation: str, factory: Callable[[], Awaitable[Any]]) -> Any:
        """One attempt, timed and counted; transient failures become :class:`_Transient`."""
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await asyncio.wait_for(factory(), self.policy.timeout_s)
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except CameraError as exc:
            outcome = exc.kind
            raise
        except Exception as exc:
            kind, transient = _classify(exc)
            outcome = kind
            if transient:
                raise _Transient(kind, exc) from exc
            _log.info(
                "onvif_call_failed",
                host=self.host,
                operation=operation,
                kind=kind,
                error=_describe(exc),
            )
            raise CameraError(operation, kind, _describe(exc)) from exc
        finally:
            ONVIF_CALLS.labels(operation=operation, outcome=outcome).inc()
            ONVIF_CALL_SECONDS.labels(operation=operation).observe(time.perf_counter() - started)
