"""Message Batches: create, retrieve, list, cancel, results, with the API's object shapes.

Every request of a batch is answered when the batch is created (same validation, answers,
faults with target `batch_item`, usage with `service_tier: batch`), but the batch stays
`in_progress`, with every request counted as `processing` and no `results_url`, until
`batch_delay_s` has passed; then it is `ended` with its counts and an absolute `results_url`
on this server. A request whose params are invalid is an `errored` result (the API, too,
validates params only when it processes the batch). Results are JSON lines
`{"custom_id": ..., "result": {"type": "succeeded", "message": {...}}}` or
`{"type": "errored", "error": {"type": "error", "error": {...}}}`; `canceled` for requests
of a batch canceled before it ended.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from vigil_tools.fake_anthropic import requests
from vigil_tools.fake_anthropic.answers import answer
from vigil_tools.fake_anthropic.errors import ApiError, invalid, new_id
from vigil_tools.fake_anthropic.state import FakeState

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_REQUESTS = 100_000


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Batch:
    """One batch: its answers are ready at creation, revealed once `ready_at` has passed."""

    id: str
    created_at: datetime
    ready_at: float
    results: list[dict[str, Any]]
    canceled_at: datetime | None = None
    ended_at: datetime | None = field(default=None)

    def ended(self) -> bool:
        """Whether processing has ended (time passed, or canceled)."""
        if self.ended_at is None and (self.canceled_at or time.monotonic() >= self.ready_at):
            self.ended_at = datetime.now(UTC)
        return self.ended_at is not None

    def counts(self) -> dict[str, int]:
        """`request_counts`: everything `processing` until the batch ends."""
        out = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        if not self.ended():
            out["processing"] = len(self.results)
            return out
        for line in self._final():
            out[line["result"]["type"]] += 1
        return out

    def _final(self) -> list[dict[str, Any]]:
        if self.canceled_at is None:
            return self.results
        return [{"custom_id": r["custom_id"], "result": {"type": "canceled"}} for r in self.results]

    def view(self, origin: str) -> dict[str, Any]:
        """The `message_batch` object; `origin` is this server's scheme://host:port."""
        ended = self.ended()
        status = "ended" if ended else ("canceling" if self.canceled_at else "in_progress")
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": self.counts(),
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.created_at + timedelta(hours=24)),
            "ended_at": _iso(self.ended_at) if self.ended_at else None,
            "cancel_initiated_at": _iso(self.canceled_at) if self.canceled_at else None,
            "archived_at": None,
            "results_url": f"{origin}/v1/messages/batches/{self.id}/results" if ended else None,
        }

    def jsonl(self) -> bytes:
        """The results file (only once ended)."""
        return b"".join(orjson.dumps(line) + b"\n" for line in self._final())


def _item(state: FakeState, custom_id: str, params: Any) -> dict[str, Any]:
    fault = state.faults.next("batch_item")
    entry: dict[str, Any] = {"path": "batch_item", "method": "BATCH", "custom_id": custom_id}
    try:
        error = fault.error() if fault else None
        if error is not None:
            raise error
        parsed = requests.parse(params)
        message = answer(parsed, state.cache, state.answers, fault, service_tier="batch")
    except ApiError as exc:
        entry.update(status=exc.status, fault=fault.kind if fault else None)
        state.log.add(entry)
        return {"custom_id": custom_id, "result": {"type": "errored", "error": exc.body()}}
    entry.update(status=200, fault=fault.kind if fault else None, model=parsed.model)
    entry.update(usage=message["usage"], image_sizes=[list(s) for s in parsed.image_sizes])
    state.log.add(entry)
    return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}


def _checked(body: Any) -> list[tuple[str, Any]]:
    items = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise invalid("requests: Field required (a non-empty list)")
    if len(items) > MAX_REQUESTS:
        raise invalid(f"requests: at most {MAX_REQUESTS} requests per batch")
    seen: set[str] = set()
    out: list[tuple[str, Any]] = []
    for i, item in enumerate(items):
        custom_id = item.get("custom_id") if isinstance(item, dict) else None
        if not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
            raise invalid(
                f"requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
            )
        if custom_id in seen:
            raise invalid(f"requests: duplicate custom_id '{custom_id}'")
        seen.add(custom_id)
        if not isinstance(item.get("params"), dict):
            raise invalid(f"requests.{i}.params: Field required")
        out.append((custom_id, item["params"]))
    return out


def create(state: FakeState, body: Any) -> Batch:
    """Validate and answer a batch; keep it in `state`."""
    items = _checked(body)
    results = [_item(state, custom_id, params) for custom_id, params in items]
    batch = Batch(
        id=new_id("msgbatch"),
        created_at=datetime.now(UTC),
        ready_at=time.monotonic() + state.config.batch_delay_s,
        results=results,
    )
    state.batches[batch.id] = batch
    return batch


def get(state: FakeState, batch_id: str) -> Batch:
    """The batch, or the API's 404."""
    batch = state.batches.get(batch_id)
    if not isinstance(batch, Batch):
        raise ApiError(404, f"No batch with id {batch_id}")
    return batch


def cancel(state: FakeState, batch_id: str) -> Batch:
    """Cancel a batch that has not ended (its requests become `canceled`)."""
    batch = get(state, batch_id)
    if not batch.ended():
        batch.canceled_at = datetime.now(UTC)
    return batch
