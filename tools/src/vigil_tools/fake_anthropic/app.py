"""The aiohttp application: the API routes, authentication, latency, faults and the log.

API routes (what the anthropic SDK calls): POST /v1/messages, POST
/v1/messages/count_tokens, POST/GET /v1/messages/batches, GET
/v1/messages/batches/{batch_id}, GET .../{batch_id}/results, POST .../{batch_id}/cancel.
Every /v1 request needs a key, in `x-api-key` or as `Authorization: Bearer` (the SDK
sends the latter since 2.x): 401 `authentication_error` without one or when it differs from
the configured key. Every /v1 request is logged. Streaming (`"stream": true`) is not
supported (400). The control routes under /_fake are in :mod:`control`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from vigil_tools.fake_anthropic import batches, requests
from vigil_tools.fake_anthropic.answers import answer
from vigil_tools.fake_anthropic.control import add_control_routes
from vigil_tools.fake_anthropic.errors import ApiError, error_response, invalid
from vigil_tools.fake_anthropic.faults import Fault
from vigil_tools.fake_anthropic.log import elide_images
from vigil_tools.fake_anthropic.state import FakeState

STATE_KEY: web.AppKey[FakeState] = web.AppKey("fake_anthropic_state", FakeState)
LOG_KEY: web.RequestKey[dict[str, Any]] = web.RequestKey("fake_anthropic_log", dict)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _state(request: web.Request) -> FakeState:
    return request.app[STATE_KEY]


def _json(value: Any) -> web.Response:
    return web.Response(body=orjson.dumps(value), content_type="application/json")


def _origin(request: web.Request) -> str:
    return str(request.url.origin()).rstrip("/")


def _authenticate(request: web.Request) -> None:
    key = request.headers.get("x-api-key")
    bearer = request.headers.get("authorization", "")
    if not key and bearer.lower().startswith("bearer "):
        key = bearer[7:].strip()
    if not key:
        raise ApiError(401, "x-api-key header is required")
    expected = _state(request).config.api_key
    if expected is not None and key != expected:
        raise ApiError(401, "invalid x-api-key")


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate /v1 requests, turn :class:`ApiError` into answers, log each request."""
    if not request.path.startswith("/v1/"):
        return await handler(request)
    info = request.match_info.route.resource
    entry: dict[str, Any] = {
        "path": info.canonical if info is not None else request.path,
        "method": request.method,
    }
    request[LOG_KEY] = entry
    try:
        _authenticate(request)
        response = await handler(request)
    except ApiError as exc:
        response = error_response(exc)
    entry["status"] = response.status
    _state(request).log.add(entry)
    return response


async def _body(request: web.Request) -> Any:
    body = requests.decode_json(await request.read())
    request[LOG_KEY]["body"] = elide_images(body)
    return body


async def _apply_fault(request: web.Request, target: str) -> Fault | None:
    """Wait the configured latency, then the next fault for `target` (raised if an error)."""
    state = _state(request)
    if state.config.latency_s > 0:
        await asyncio.sleep(state.config.latency_s)
    fault = state.faults.next(target)
    if fault is None:
        return None
    request[LOG_KEY]["fault"] = fault.kind
    if fault.delay_s > 0:
        await asyncio.sleep(fault.delay_s)
    error = fault.error()
    if error is not None:
        raise error
    return fault


async def messages(request: web.Request) -> web.Response:
    """POST /v1/messages."""
    fault = await _apply_fault(request, "messages")
    body = await _body(request)
    if isinstance(body, dict) and body.get("stream"):
        raise invalid("stream: streaming is not supported by the fake")
    parsed = requests.parse(body)
    state = _state(request)
    message = answer(parsed, state.cache, state.answers, fault)
    entry = request[LOG_KEY]
    entry.update(model=parsed.model, usage=message["usage"], tool_choice=parsed.tool_choice)
    entry["image_sizes"] = [list(size) for size in parsed.image_sizes]
    return _json(message)


async def count_tokens(request: web.Request) -> web.Response:
    """POST /v1/messages/count_tokens: every prompt token, no cache effect."""
    await _apply_fault(request, "count_tokens")
    parsed = requests.parse(await _body(request), counting=True)
    total = sum(block.tokens for block in parsed.blocks)
    request[LOG_KEY].update(model=parsed.model, usage={"input_tokens": total})
    return _json({"input_tokens": total})


async def create_batch(request: web.Request) -> web.Response:
    """POST /v1/messages/batches."""
    await _apply_fault(request, "batches")
    batch = batches.create(_state(request), await _body(request))
    return _json(batch.view(_origin(request)))


async def list_batches(request: web.Request) -> web.Response:
    """GET /v1/messages/batches (newest first, no paging)."""
    origin = _origin(request)
    data = [b.view(origin) for b in reversed(list(_state(request).batches.values()))]
    first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
    return _json({"data": data, "has_more": False, "first_id": first, "last_id": last})


async def get_batch(request: web.Request) -> web.Response:
    """GET /v1/messages/batches/{batch_id}."""
    batch = batches.get(_state(request), request.match_info["batch_id"])
    return _json(batch.view(_origin(request)))


async def batch_results(request: web.Request) -> web.Response:
    """GET /v1/messages/batches/{batch_id}/results: JSON lines, once the batch has ended."""
    batch = batches.get(_state(request), request.match_info["batch_id"])
    if not batch.ended():
        raise invalid(f"Batch {batch.id} has not finished processing")
    return web.Response(body=batch.jsonl(), content_type="application/x-jsonl")


async def cancel_batch(request: web.Request) -> web.Response:
    """POST /v1/messages/batches/{batch_id}/cancel."""
    batch = batches.cancel(_state(request), request.match_info["batch_id"])
    return _json(batch.view(_origin(request)))


def build_app(state: FakeState | None = None) -> web.Application:
    """The application around `state` (a fresh one by default)."""
    app = web.Application(middlewares=[api_middleware], client_max_size=256 * 1024 * 1024)
    app[STATE_KEY] = state if state is not None else FakeState()
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/messages/count_tokens", count_tokens)
    app.router.add_post("/v1/messages/batches", create_batch)
    app.router.add_get("/v1/messages/batches", list_batches)
    app.router.add_get("/v1/messages/batches/{batch_id}", get_batch)
    app.router.add_get("/v1/messages/batches/{batch_id}/results", batch_results)
    app.router.add_post("/v1/messages/batches/{batch_id}/cancel", cancel_batch)
    add_control_routes(app, app[STATE_KEY])
    return app
