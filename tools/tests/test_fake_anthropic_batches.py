"""fake_anthropic's Message Batches through the real SDK: create, poll until ended, stream
the JSON-lines results; errored items; faults on items; cancel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import pytest

from vigil_tools.fake_anthropic.testing import FakeAnthropic, running_fake, sample_tool_request


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with running_fake(batch_delay_s=0.2) as server:
        yield server


@pytest.fixture
def client(fake: FakeAnthropic) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)


def _item(custom_id: str, params: Any) -> Any:
    return {"custom_id": custom_id, "params": params}


async def _ended(client: anthropic.AsyncAnthropic, batch_id: str) -> Any:
    while True:
        batch = await client.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        await asyncio.sleep(0.05)


async def _results(client: anthropic.AsyncAnthropic, batch_id: str) -> dict[str, Any]:
    return {
        line.custom_id: line.result
        async for line in await client.messages.batches.results(batch_id)
    }


async def test_a_batch_goes_from_in_progress_to_ended_with_succeeded_results(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    created = await client.messages.batches.create(
        requests=[
            _item("cam-1_frame-7", sample_tool_request()),
            _item("cam-2_frame-9", sample_tool_request()),
        ]
    )
    assert created.id.startswith("msgbatch_")
    assert created.processing_status == "in_progress"
    assert created.request_counts.processing == 2
    assert created.results_url is None
    ended = await _ended(client, created.id)
    assert ended.request_counts.succeeded == 2
    assert ended.ended_at is not None
    results = await _results(client, created.id)
    assert set(results) == {"cam-1_frame-7", "cam-2_frame-9"}
    for result in results.values():
        assert result.type == "succeeded"
        assert result.message.stop_reason == "tool_use"
        assert result.message.usage.service_tier == "batch"
    assert fake.summary()["by_path"]["batch_item"] == 2


async def test_invalid_params_and_item_faults_are_errored_results(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.add_faults({"kind": "overloaded", "target": "batch_item"})
    broken = sample_tool_request()
    del broken["max_tokens"]
    created = await client.messages.batches.create(
        requests=[
            _item("a", sample_tool_request()),
            _item("b", broken),
            _item("c", sample_tool_request()),
        ]
    )
    ended = await _ended(client, created.id)
    assert (ended.request_counts.succeeded, ended.request_counts.errored) == (1, 2)
    results = await _results(client, created.id)
    assert results["a"].type == "errored"
    assert results["a"].error.error.type == "overloaded_error"
    assert results["b"].type == "errored"
    assert results["b"].error.error.message == "max_tokens: Field required"
    assert results["c"].type == "succeeded"


async def test_results_before_the_end_are_refused_by_the_sdk(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.config.batch_delay_s = 3600
    created = await client.messages.batches.create(requests=[_item("a", sample_tool_request())])
    with pytest.raises(anthropic.AnthropicError, match="No `results_url`"):
        await client.messages.batches.results(created.id)


async def test_a_canceled_batch_ends_with_canceled_requests(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.config.batch_delay_s = 3600
    created = await client.messages.batches.create(requests=[_item("a", sample_tool_request())])
    await client.messages.batches.cancel(created.id)
    ended = await _ended(client, created.id)
    assert ended.request_counts.canceled == 1
    assert (await _results(client, created.id))["a"].type == "canceled"


async def test_duplicate_custom_ids_are_a_bad_request(client: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="duplicate custom_id"):
        await client.messages.batches.create(
            requests=[
                _item("a", sample_tool_request()),
                _item("a", sample_tool_request()),
            ]
        )


async def test_an_unknown_batch_is_not_found(client: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.NotFoundError):
        await client.messages.batches.retrieve("msgbatch_nope")
