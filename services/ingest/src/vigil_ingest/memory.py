"""What the ingest holds in memory per message, in bytes: the figures its backpressure and
its fan-out grouping count with.

Contract:

* :func:`held_bytes` is charged when a message is received and released when it is
  acknowledged (or dropped unacknowledged by a drain). It is an upper estimate of everything
  the message keeps alive until then: the ``Inbound`` with its payload, the decoded rows
  waiting in a COPY writer, the stream entry (for events and health a copy of the payload
  in an envelope; for frames the payload itself, not a copy) and, for a refused message, its
  ``ingest_rejects`` row (a copy of at most ``INGEST_REJECT_PAYLOAD_MAX_BYTES``). JSON
  payloads grow once decoded: 3.5-5x for events without detected objects, 6-10x with one
  to ten objects per event (each object a dict, its bbox a list of floats), up to about
  11x with the maximum of 256; JPEG payloads do not grow. It depends only on the topic and
  the payload length, so the figure released is the figure charged.
  ``tests/test_memory.py`` measures the real figures with ``tracemalloc`` and checks the
  estimate covers them.
* :func:`fanout_bytes` is an upper estimate of the bytes a message's stream entries add to
  one ``EVALSHA`` of the fan-out (the entry carries the payload plus an envelope of a few
  hundred bytes); the pipeline cuts fan-out groups at ``fanout_group_max_bytes`` of it.

What the estimates leave out (bounded separately, see docs/ingest.md "Memory"): one MQTT
read pass past the high-water mark (``MqttLinkConfig.read_batch_bytes`` plus one message),
paho's receive buffer while reading is paused (one partly read packet plus one
``recv`` of at most :data:`vigil_ingest.mqtt_client.RECV_CHUNK` bytes), and the packed
command of the fan-out call in flight (one copy of its group, at most
``fanout_group_max_bytes``).
"""

from __future__ import annotations

from typing import Final

from vigil_schema.tables import INGEST_REJECT_PAYLOAD_MAX_BYTES

__all__ = [
    "ENTRY_OVERHEAD_BYTES",
    "JSON_EXPANSION",
    "MESSAGE_OVERHEAD_BYTES",
    "fanout_bytes",
    "held_bytes",
]

MESSAGE_OVERHEAD_BYTES: Final = 4096
"""Per message, whatever its size: the ``Inbound``, the ``Decoded`` with its state fields or
the reject with its row, the pipeline's tracking record (1.5-2 KiB measured)."""
JSON_EXPANSION: Final = 12
"""Decoded size of a JSON payload (rows, entry copy, reject row) per payload byte: the
worst case measured (events full of detected objects); typical events take less than half,
so for them the bytes mark is conservative and the count mark usually binds first."""
ENTRY_OVERHEAD_BYTES: Final = 1024
"""Stream entry bytes on top of the payload: envelope fields, the wrapping JSON object."""
_FRAMES_SUFFIX: Final = "/frames"


def held_bytes(topic: str, payload_len: int) -> int:
    """Upper estimate of the memory a message keeps alive from receipt to acknowledgement."""
    if topic.endswith(_FRAMES_SUFFIX):
        return (
            payload_len
            + min(payload_len, INGEST_REJECT_PAYLOAD_MAX_BYTES)
            + (MESSAGE_OVERHEAD_BYTES)
        )
    return payload_len * JSON_EXPANSION + MESSAGE_OVERHEAD_BYTES


def fanout_bytes(payload_len: int) -> int:
    """Upper estimate of the bytes a message's stream entries add to a fan-out call."""
    return payload_len + ENTRY_OVERHEAD_BYTES
