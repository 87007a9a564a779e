"""Bounded, idempotent ``XADD``: the one way every producer adds stream entries.

:class:`StreamWriter` adds a list of entries, in order, each to its stream, with one
server-side script call (:data:`BOUNDED_XADD_SCRIPT`; one ``EVALSHA`` instead of one command
per entry: the ingest measured a tenth of redis-py's CPU per entry, ``bench/pipeline_micro.py``):

* **Idempotent per entry.** An entry that carries an idempotency key (its ``key`` field,
  :mod:`vigil_schema.entry_keys`) is added only if ``SET <stream>:added:<key> 1 NX PX ttl``
  succeeds in the same script call, so a call that is retried after a timeout whose first
  attempt did run (or a redelivered message fanned out again within ``marker_ttl_s``) adds
  nothing twice. Skipped entries are counted (``vigil_stream_producer_duplicates_total``).
  Past the marker's lifetime a repeat is added again; consumer groups skip the keys they
  completed (``StreamConsumer``).
* **Bounded on every call.** After the adds, every stream the call touched is trimmed to its
  :class:`~vigil_schema.streams.StreamPolicy`: ``XTRIM MINID ~`` (now - ``max_age``, on the
  Redis server's clock) and ``XTRIM MAXLEN ~ maxlen``. A stream can exceed its bound by one
  call's entries and by the approximation (one radix-tree node, 100 entries by default).
  Trimmed entries are counted (``vigil_stream_trimmed_total``).

A stream without a policy is refused (``KeyError``): every stream has a documented bound.
Scripts that must add an entry atomically with other writes (the ingest's liveness
transitions) use :func:`lua_bounded_xadd` instead: the same bound, in their own script.

The script is loaded on first use and again after ``NOSCRIPT`` (a Redis restart or
``SCRIPT FLUSH``); :meth:`StreamWriter.queue` lets a caller put the call in its own
pipeline, next to other commands, and :meth:`StreamWriter.record` count its reply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import redis.asyncio
from prometheus_client import Counter
from redis.exceptions import NoScriptError

from vigil_schema.entry_keys import IDEMPOTENCY_FIELD
from vigil_schema.streams import STREAM_POLICIES, StreamPolicy, added_marker_key, stream_policy

__all__ = [
    "BOUNDED_XADD_SCRIPT",
    "DEFAULT_MARKER_TTL_S",
    "PUBLISHED",
    "OutgoingEntry",
    "StreamWriter",
    "WriteResult",
    "lua_bounded_xadd",
]

PUBLISHED = Counter("vigil_stream_published_total", "Entries added to a stream", ["stream"])
PRODUCER_DUPLICATES = Counter(
    "vigil_stream_producer_duplicates_total",
    "Entries not added because an entry with their idempotency key was added moments ago",
    ["stream"],
)
TRIMMED = Counter(
    "vigil_stream_trimmed_total",
    "Entries trimmed from a stream by its producers (StreamPolicy age and length bounds)",
    ["stream"],
)

DEFAULT_MARKER_TTL_S: Final = 120.0
"""How long a producer remembers the keys it added: covers a retried call (the ingest
retries within seconds) and a redelivery right after a reconnect, at about 150 bytes of
Redis memory per entry added in that time."""

_LUA_TRIM: Final = """
local function vigil_trim(stream, maxlen, age_ms)
  local trimmed = 0
  if age_ms > 0 then
    local t = redis.call('TIME')
    local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    trimmed = redis.call('XTRIM', stream, 'MINID', '~', string.format('%.0f-0', now_ms - age_ms))
  end
  return trimmed + redis.call('XTRIM', stream, 'MAXLEN', '~', maxlen)
end
"""
"""Lua ``vigil_trim(stream, maxlen, age_ms)``: a stream's bound (``XTRIM MINID ~`` now -
``age_ms`` on the Redis server's clock, when > 0, then ``XTRIM MAXLEN ~``); entries trimmed.
The one copy of the trim, in both :data:`BOUNDED_XADD_SCRIPT` and :func:`lua_bounded_xadd`."""

BOUNDED_XADD_SCRIPT: Final = (
    _LUA_TRIM
    + """
local ttl = ARGV[1]
local want_ids = ARGV[2] == '1'
local nstreams = tonumber(ARGV[3])
local added, skipped, ids = {}, {}, {}
for s = 1, nstreams do added[s] = 0; skipped[s] = 0 end
local i = 4 + 2 * nstreams
while i <= #ARGV do
  local s = tonumber(ARGV[i])
  local marker = tonumber(ARGV[i + 1])
  local last = i + 2 + 2 * tonumber(ARGV[i + 2])
  if marker == 0 or redis.call('SET', KEYS[nstreams + marker], '1', 'NX', 'PX', ttl) then
    local id = redis.call('XADD', KEYS[s], '*', unpack(ARGV, i + 3, last))
    added[s] = added[s] + 1
    if want_ids then ids[#ids + 1] = id end
  else
    skipped[s] = skipped[s] + 1
    if want_ids then ids[#ids + 1] = '' end
  end
  i = last + 1
end
local counts = {}
for s = 1, nstreams do
  counts[#counts + 1] = added[s]
  counts[#counts + 1] = skipped[s]
  counts[#counts + 1] = vigil_trim(KEYS[s], ARGV[2 + 2 * s], tonumber(ARGV[3 + 2 * s]))
end
return {counts, ids}
"""
)
"""KEYS: the streams, then the markers. ARGV: marker TTL (ms), want ids (``1``/``0``),
stream count, ``maxlen, max_age_ms`` per stream (0: no age bound), then per entry
``stream index, marker number (n: KEYS[streams + n]; 0: none), field count, field, value,
...``. Returns
``{{added, skipped, trimmed} per stream (flat), ids}`` (an id is empty when skipped)."""

Fields = Mapping[str, bytes | str]


@dataclass(frozen=True, slots=True)
class OutgoingEntry:
    """One entry to add: its stream and fields (``key`` among them when it has one)."""

    stream: str
    fields: Fields


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one call did: per stream, entries added, skipped as duplicates, trimmed; the new
    entries' ids in order (``None`` for a skipped one) when they were asked for."""

    added: Mapping[str, int]
    skipped: Mapping[str, int]
    trimmed: Mapping[str, int]
    ids: Sequence[bytes | None] = ()


class StreamWriter:
    """See the module docstring. ``maxlen`` overrides a policy's cap per stream (e.g. the
    ingest's ``VIGIL_FRAMES_MAXLEN``)."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        policies: Mapping[str, StreamPolicy] = STREAM_POLICIES,
        maxlen: Mapping[str, int] | None = None,
        marker_ttl_s: float = DEFAULT_MARKER_TTL_S,
    ) -> None:
        if marker_ttl_s <= 0:
            raise ValueError("marker_ttl_s must be > 0")
        self._client = client
        self._policies = policies
        self._maxlen = dict(maxlen or {})
        if any(value < 1 for value in self._maxlen.values()):
            raise ValueError("a maxlen override must be >= 1")
        self._ttl_ms = str(max(1, round(marker_ttl_s * 1000)))
        self._sha: str | None = None

    def arguments(
        self, entries: Iterable[OutgoingEntry], *, want_ids: bool = False
    ) -> tuple[list[str], list[Any]]:
        """KEYS and ARGV of :data:`BOUNDED_XADD_SCRIPT` for ``entries`` (empty KEYS: none)."""
        streams: dict[str, int] = {}
        markers: list[str] = []
        body: list[Any] = []
        append = body.append
        for entry in entries:
            stream = entry.stream
            index = streams.get(stream)
            if index is None:
                index = streams[stream] = len(streams) + 1
            fields = entry.fields
            append(index)
            key = fields.get(IDEMPOTENCY_FIELD)
            if key:
                text = key.decode() if isinstance(key, bytes) else key
                markers.append(added_marker_key(stream, text))
                append(len(markers))
            else:
                append(0)
            append(len(fields))
            for name, value in fields.items():
                append(name)
                append(value)
        if not streams:
            return [], []
        head: list[Any] = [self._ttl_ms, "1" if want_ids else "0", len(streams)]
        for stream in streams:
            policy = stream_policy(stream, self._policies)
            head.append(self._maxlen.get(stream, policy.maxlen))
            head.append(_age_ms(policy))
        head.extend(body)
        return [*streams, *markers], head

    async def ensure_script(self) -> str:
        """Load the script if this writer has not yet; its SHA1."""
        if self._sha is None:
            sha: Any = await self._client.script_load(BOUNDED_XADD_SCRIPT)
            self._sha = sha.decode() if isinstance(sha, bytes) else str(sha)
        return self._sha

    def forget_script(self) -> None:
        """After ``NOSCRIPT``: load the script again on the next call."""
        self._sha = None

    def queue(self, pipe: Any, keys: Sequence[str], argv: Sequence[Any]) -> None:
        """Add the script call to ``pipe`` (:meth:`ensure_script` must have run)."""
        if self._sha is None:
            raise RuntimeError("call ensure_script() before queue()")
        pipe.evalsha(self._sha, len(keys), *keys, *argv)

    async def write(
        self, entries: Iterable[OutgoingEntry], *, want_ids: bool = False
    ) -> WriteResult:
        """Add ``entries`` in one script call (see the module docstring); raises on Redis
        errors, after which the whole call may be retried as is."""
        keys, argv = self.arguments(entries, want_ids=want_ids)
        if not keys:
            return WriteResult({}, {}, {})
        try:
            reply = await self._call(keys, argv)
        except NoScriptError:
            self.forget_script()
            reply = await self._call(keys, argv)
        return self.record(keys, argv, reply)

    async def _call(self, keys: Sequence[str], argv: Sequence[Any]) -> Any:
        sha = await self.ensure_script()
        return await self._client.evalsha(sha, len(keys), *keys, *argv)

    @staticmethod
    def record(keys: Sequence[str], argv: Sequence[Any], reply: Any) -> WriteResult:
        """Count a script reply in the metrics; the :class:`WriteResult` it describes."""
        streams = list(keys[: int(argv[2])])
        counts, raw_ids = reply
        added: dict[str, int] = {}
        skipped: dict[str, int] = {}
        trimmed: dict[str, int] = {}
        for position, stream in enumerate(streams):
            done, duplicate, cut = (int(n) for n in counts[3 * position : 3 * position + 3])
            added[stream], skipped[stream], trimmed[stream] = done, duplicate, cut
            if done:
                PUBLISHED.labels(stream).inc(done)
            if duplicate:
                PRODUCER_DUPLICATES.labels(stream).inc(duplicate)
            if cut:
                TRIMMED.labels(stream).inc(cut)
        ids = [_entry_id(value) for value in raw_ids]
        return WriteResult(added, skipped, trimmed, ids)


def _entry_id(value: Any) -> bytes | None:
    if not value:
        return None
    return value if isinstance(value, bytes) else str(value).encode()


def _age_ms(policy: StreamPolicy) -> int:
    """``max_age`` in milliseconds (at least 1); 0: no age bound."""
    age = policy.max_age
    return 0 if age is None else max(1, round(age.total_seconds() * 1000))


def lua_bounded_xadd(policy: StreamPolicy) -> str:
    """Lua source of ``vigil_xadd(stream_key, field, value, ...)`` for a script that adds an
    entry of ``policy``'s stream together with other writes: ``XADD`` then the same trim as
    :data:`BOUNDED_XADD_SCRIPT` (``vigil_trim``; the policy's values are part of the source).
    Prepend it to the script; it returns the new entry's id."""
    return (
        _LUA_TRIM
        + f"""
local function vigil_xadd(stream, ...)
  local id = redis.call('XADD', stream, '*', ...)
  vigil_trim(stream, {policy.maxlen}, {_age_ms(policy)})
  return id
end
"""
    )
