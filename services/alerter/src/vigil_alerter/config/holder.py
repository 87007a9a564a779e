"""The configuration in force, and its reloading (SIGHUP, file change), as Alertmanager does.

Contract:

- :class:`ConfigHolder` loads ``path`` at construction (``None`` or a missing file: the
  default configuration; an invalid file raises :class:`ConfigError`: the service does not
  start on a broken file). ``current`` is the :class:`LoadedConfig` in force: the parsed
  configuration with its routing tree, inhibitor and time intervals, all built from the same
  file, swapped as one object (readers take ``holder.current`` once per unit of work).
- :meth:`ConfigHolder.reload` re-reads the file; an invalid file (or a file that disappeared)
  keeps the current configuration and logs the error with its line and field. Every attempt
  counts in ``CONFIG_RELOADS{outcome}`` and sets ``CONFIG_LAST_RELOAD_OK``.
- :meth:`ConfigHolder.watch` polls the file's SHA-256 every ``poll_s`` and reloads when it
  differs from the last attempted content (a broken file is reported once, not every poll);
  :meth:`ConfigHolder.install_sighup` reloads on SIGHUP.
- Subscribers (:meth:`ConfigHolder.subscribe`) are called with the new config after a
  successful reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from vigil_alerter.clock import Clock
from vigil_alerter.config.loader import ConfigError, parse_config
from vigil_alerter.config.models import DEFAULT_CONFIG_YAML, AlerterConfig
from vigil_alerter.config.time_intervals import TimeIntervals
from vigil_alerter.metrics import CONFIG_LAST_RELOAD_OK, CONFIG_RELOADS
from vigil_alerter.routing.inhibit import Inhibitor
from vigil_alerter.routing.tree import RoutingTree
from vigil_runtime.logging import get_logger

__all__ = ["ConfigHolder", "LoadedConfig", "file_digest"]

_log = get_logger(__name__)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def file_digest(path: Path) -> str | None:
    """SHA-256 hex of the file's text, or None when it cannot be read."""
    try:
        return _digest(path.read_text(encoding="utf-8"))
    except OSError:
        return None


@dataclass(frozen=True)
class LoadedConfig:
    """One configuration and everything built from it."""

    config: AlerterConfig
    tree: RoutingTree
    inhibitor: Inhibitor
    intervals: TimeIntervals
    digest: str
    """SHA-256 hex of the file's text (of the default text when there is no file)."""
    loaded_at: datetime

    @classmethod
    def parse(cls, text: str, source: str, loaded_at: datetime) -> LoadedConfig:
        """Parse ``text`` and build the tree, inhibitor and intervals (:class:`ConfigError`)."""
        config = parse_config(text, source=source)
        return cls(
            config=config,
            tree=RoutingTree.from_config(config),
            inhibitor=Inhibitor.from_config(config),
            intervals=TimeIntervals.from_config(config),
            digest=_digest(text),
            loaded_at=loaded_at,
        )


class ConfigHolder:
    """Holds the configuration in force and reloads it."""

    def __init__(self, path: Path | None, clock: Clock) -> None:
        self.path = path
        self._clock = clock
        self._subscribers: list[Callable[[LoadedConfig], None]] = []
        text, source = self._initial_text()
        try:
            self._current = LoadedConfig.parse(text, source, clock())
        except ConfigError:
            CONFIG_RELOADS.labels(outcome="invalid").inc()
            CONFIG_LAST_RELOAD_OK.set(0)
            raise
        self._attempted = self._current.digest
        CONFIG_RELOADS.labels(outcome="ok").inc()
        CONFIG_LAST_RELOAD_OK.set(1)

    def _initial_text(self) -> tuple[str, str]:
        if self.path is not None:
            try:
                return self.path.read_text(encoding="utf-8"), str(self.path)
            except FileNotFoundError:
                _log.warning("alerter config file missing, using the default", path=str(self.path))
        return DEFAULT_CONFIG_YAML, "<default>"

    @property
    def current(self) -> LoadedConfig:
        """The configuration in force."""
        return self._current

    def subscribe(self, callback: Callable[[LoadedConfig], None]) -> None:
        """Call ``callback(new)`` after every successful reload."""
        self._subscribers.append(callback)

    def _failed(self, reason: str) -> bool:
        CONFIG_RELOADS.labels(outcome="invalid").inc()
        CONFIG_LAST_RELOAD_OK.set(0)
        _log.error("alerter config reload failed, keeping the current one", error=reason)
        return False

    def reload(self) -> bool:
        """Re-read the file; True when the new configuration is now in force."""
        if self.path is None:
            text, source = DEFAULT_CONFIG_YAML, "<default>"
        else:
            try:
                text, source = self.path.read_text(encoding="utf-8"), str(self.path)
            except OSError as exc:
                return self._failed(f"{self.path}: cannot read: {exc}")
        self._attempted = _digest(text)
        try:
            loaded = LoadedConfig.parse(text, source, self._clock())
        except ConfigError as exc:
            return self._failed(str(exc))
        self._current = loaded
        CONFIG_RELOADS.labels(outcome="ok").inc()
        CONFIG_LAST_RELOAD_OK.set(1)
        _log.info("alerter config loaded", source=source, digest=loaded.digest[:12])
        for callback in self._subscribers:
            try:
                callback(loaded)
            except Exception:
                _log.exception("alerter config subscriber failed")
        return True

    def changed(self) -> bool:
        """Whether the file's content differs from the last one tried (missing: no)."""
        if self.path is None:
            return False
        digest = file_digest(self.path)
        return digest is not None and digest != self._attempted

    async def watch(self, stop: asyncio.Event, poll_s: float = 2.0) -> None:
        """Reload whenever the file's content changes, until ``stop`` is set."""
        while not stop.is_set():
            if await asyncio.to_thread(self.changed):
                self.reload()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_s)

    def install_sighup(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        """Reload on SIGHUP; returns a function removing the handler."""
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)

        def remove() -> None:
            loop.remove_signal_handler(signal.SIGHUP)

        return remove

    def _on_sighup(self) -> None:
        _log.info("SIGHUP: reloading the alerter config")
        self.reload()
