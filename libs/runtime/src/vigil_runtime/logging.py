"""Structured JSON logging for every Vigil process, with secrets redacted.

`configure_logging(level, service)` makes structlog (and the standard library's `logging`,
which aiohttp, asyncpg and paho use) write one JSON object per line to stderr:
`{"timestamp": "...Z", "level": "info", "service": "ingest", "event": "...", ...context}`.
A redaction processor masks values under sensitive keys (password, secret, token,
credentials, authorization, ...) and the password of any URL in any string, so a secret
never reaches the log even when it is bound by mistake or quoted in an exception.

`RateLimitedLogger` logs a message at most once per key per interval and reports how many
were suppressed: per-reason reject logging must not flood the log under a bad publisher.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, MutableMapping
from typing import Any, TextIO, cast

import structlog
from structlog._config import BoundLoggerLazyProxy
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

from vigil_runtime.settings import REDACTED, redact_text

__all__ = [
    "RateLimitedLogger",
    "configure_logging",
    "get_logger",
    "is_sensitive_key",
    "redact_secrets",
]

# A key is sensitive when one of its `_`/`-` separated words is one of these, or when it
# ends with one (camelCase `accessToken`). Whole words only: `input_tokens` (Claude usage
# counts) and `passed` must stay readable.
_SENSITIVE_WORDS = frozenset(
    {
        "password", "passwd", "passphrase", "pwd", "secret", "token", "credential",
        "credentials", "authorization", "authorisation", "cookie", "apikey",
    }
)  # fmt: skip
_SENSITIVE_SUFFIXES = ("password", "passwd", "secret", "token", "apikey", "api_key", "credentials")


def is_sensitive_key(key: str) -> bool:
    """Whether a value logged under `key` must be masked."""
    normalized = key.lower().replace("-", "_")
    words = set(normalized.split("_"))
    return bool(words & _SENSITIVE_WORDS) or normalized.endswith(_SENSITIVE_SUFFIXES)


def _redact_value(key: str | None, value: Any) -> Any:
    if key is not None and value is not None and is_sensitive_key(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, MutableMapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(None, v) for v in value]
    return value


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask sensitive keys (at any depth) and URL passwords."""
    return {key: _redact_value(key, value) for key, value in event_dict.items()}


def _add_service(service: str) -> Processor:
    def add_service(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


def _shared_processors(service: str) -> list[Processor]:
    """Processors run for both structlog and standard-library records."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        _add_service(service),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]


class _CurrentStderr:
    """``sys.stderr`` as it is at each write, not as it was when logging was configured (a
    test's capture, the CLI runner's stream, may replace it and close the old one)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str | int = "INFO", service: str = "vigil") -> None:
    """Send structlog and stdlib logging to stderr as JSON lines at `level` and above.

    Safe to call more than once (the last call wins): tests and the CLI reconfigure.
    """
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    shared = _shared_processors(service)
    structlog.configure(
        processors=[*shared, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=False,
    )
    _route_stdlib_logging(numeric, shared)


def _route_stdlib_logging(level: int, shared: list[Processor]) -> None:
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(cast(TextIO, _CurrentStderr()))
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp logs every request at INFO; probes every few seconds would drown the log.
    logging.getLogger("aiohttp.access").setLevel(max(level, logging.WARNING))
    # httpx logs every request at INFO too (the optimizer's snapshot fetches, a 401 then a 200).
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))


def get_logger(name: str | None = None, **context: Any) -> FilteringBoundLogger:
    """A structlog logger, with `logger=name` and `context` bound.

    Lazy: the configuration is read at the first log call, not here, so a module-level
    logger made at import follows a later `configure_logging` (a `bind` on structlog's proxy
    would assemble the logger now, with the default configuration: text on stdout).
    """
    if name is not None:
        context = {"logger": name, **context}
    # structlog.get_logger(logger=...) collides with wrap_logger's own `logger` parameter;
    # the proxy it would build is made here with the same arguments.
    proxy: Any = BoundLoggerLazyProxy(None, initial_values=context, logger_factory_args=())
    log: FilteringBoundLogger = proxy
    return log


class RateLimitedLogger:
    """Logs at most once per key per `interval_s`, counting what it held back.

    `log.warning("reject", key=reason, ...)` emits the first call for a key, drops the
    following ones for `interval_s`, and the next emitted line carries `suppressed=N`.
    At most `max_keys` keys are tracked (oldest forgotten first), so keys taken from
    untrusted input cannot grow memory without bound.
    """

    def __init__(
        self,
        log: FilteringBoundLogger,
        interval_s: float = 60.0,
        *,
        max_keys: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval_s <= 0 or max_keys < 1:
            raise ValueError("interval_s must be > 0 and max_keys >= 1")
        self._log = log
        self._interval = interval_s
        self._max_keys = max_keys
        self._clock = clock
        # key -> (time of the last emitted line, calls suppressed since then)
        self._seen: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def log(self, level: str, event: str, *, key: str, **fields: Any) -> bool:
        """Emit `event` at `level` unless `key` was logged within the interval."""
        now = self._clock()
        last = self._seen.get(key)
        if last is not None and now - last[0] < self._interval:
            self._seen[key] = (last[0], last[1] + 1)
            return False
        suppressed = last[1] if last is not None else 0
        self._remember(key, now)
        if suppressed:
            fields["suppressed"] = suppressed
        getattr(self._log, level)(event, key=key, **fields)
        return True

    def _remember(self, key: str, now: float) -> None:
        self._seen[key] = (now, 0)
        self._seen.move_to_end(key)
        while len(self._seen) > self._max_keys:
            self._seen.popitem(last=False)

    def debug(self, event: str, *, key: str, **fields: Any) -> bool:
        return self.log("debug", event, key=key, **fields)

    def info(self, event: str, *, key: str, **fields: Any) -> bool:
        return self.log("info", event, key=key, **fields)

    def warning(self, event: str, *, key: str, **fields: Any) -> bool:
        return self.log("warning", event, key=key, **fields)

    def error(self, event: str, *, key: str, **fields: Any) -> bool:
        return self.log("error", event, key=key, **fields)
