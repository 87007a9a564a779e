"""When the ingest stops reading MQTT: message and byte high/low water marks.

:class:`Backpressure` counts what the pipeline holds, messages received and not yet
acknowledged and their bytes (:func:`vigil_ingest.memory.held_bytes`, an upper estimate that
depends only on the topic and the payload's length, so what is released on acknowledgement
is exactly what was charged on receipt), and calls ``pause`` once either figure reaches its
high-water mark (``queue_high_water``, ``queue_high_water_bytes``) and ``resume`` once both
are back at their low-water marks (``queue_low_water``, ``queue_low_water_bytes``). While
closing it never resumes. It keeps ``vigil_ingest_queue_depth``, ``vigil_ingest_queue_bytes``
and ``vigil_ingest_reading_paused`` up to date. Synchronous, called on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from vigil_ingest.memory import held_bytes
from vigil_ingest.metrics import QUEUE_BYTES, QUEUE_DEPTH, READING_PAUSED
from vigil_ingest.settings import IngestSettings

__all__ = ["Backpressure", "Held"]


class Held(Protocol):
    """What a held message is counted by."""

    @property
    def topic(self) -> str: ...

    @property
    def payload(self) -> bytes: ...


class Backpressure:
    """See the module docstring."""

    def __init__(
        self,
        settings: IngestSettings,
        pause: Callable[[], None] | None,
        resume: Callable[[], None] | None,
    ) -> None:
        self._settings = settings
        self._pause = pause
        self._resume = resume
        self.held_bytes = 0
        self.paused = False

    def hold(self, messages: Iterable[Held], depth: int) -> None:
        """Count received messages; ``depth``: messages held in all, these included."""
        held = self.held_bytes
        for message in messages:
            held += held_bytes(message.topic, len(message.payload))
        self.held_bytes = held
        self._show(depth)
        settings = self._settings
        if not self.paused and (
            depth >= settings.queue_high_water or held >= settings.queue_high_water_bytes
        ):
            self._set_paused(True)

    def release(self, messages: Iterable[Held], depth: int, *, closing: bool = False) -> None:
        """Uncount messages acknowledged (or dropped unacknowledged); ``depth``: messages
        still held. Resumes reading below both low-water marks, unless ``closing``."""
        self.held_bytes -= sum(held_bytes(m.topic, len(m.payload)) for m in messages)
        self._show(depth)
        settings = self._settings
        if (
            self.paused
            and not closing
            and depth <= settings.queue_low_water
            and self.held_bytes <= settings.queue_low_water_bytes
        ):
            self._set_paused(False)

    def stop_reading(self) -> None:
        """Pause for good (draining): nothing more is read."""
        if self._pause is not None and not self.paused:
            self._set_paused(True)

    def _show(self, depth: int) -> None:
        QUEUE_DEPTH.set(depth)
        QUEUE_BYTES.set(self.held_bytes)

    def _set_paused(self, paused: bool) -> None:
        self.paused = paused
        READING_PAUSED.set(1 if paused else 0)
        callback = self._pause if paused else self._resume
        if callback is not None:
            callback()
