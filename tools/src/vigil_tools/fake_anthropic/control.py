"""The control API under /_fake (no authentication; a test tool, never exposed):

- POST /_fake/faults: a fault, a list, or `{"faults": [...]}` (see :mod:`faults`), queued;
- POST /_fake/answers: `{"answers": [input, ...]}`, the next tool inputs, used verbatim;
- GET /_fake/requests: the log summary (`count`, `by_path`, `by_status`, `tokens`,
  `requests`; `?entries=0` leaves the entries out);
- POST /_fake/reset: forget faults, answers, cache, log and batches;
- GET/POST /_fake/config: read or change `latency_s`, `batch_delay_s`, `min_cache_tokens`,
  `api_key`.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from vigil_tools.fake_anthropic.faults import parse_faults
from vigil_tools.fake_anthropic.state import FakeState


def _json(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(value), status=status, content_type="application/json")


async def _read(request: web.Request) -> Any:
    try:
        return orjson.loads(await request.read() or b"{}")
    except orjson.JSONDecodeError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None


def add_control_routes(app: web.Application, state: FakeState) -> None:
    """Register the /_fake routes for `state`."""

    async def faults(request: web.Request) -> web.Response:
        try:
            state.faults.add(parse_faults(await _read(request)))
        except (ValidationError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"pending": state.faults.pending()})

    async def answers(request: web.Request) -> web.Response:
        body = await _read(request)
        items = body.get("answers") if isinstance(body, dict) else body
        if not isinstance(items, list):
            return _json({"error": "expected {'answers': [...]}"}, 400)
        state.answers.extend(items)
        return _json({"pending": len(state.answers)})

    async def log(request: web.Request) -> web.Response:
        with_entries = request.query.get("entries", "1") not in ("0", "false")
        return _json(state.log.summary(with_entries=with_entries))

    async def reset(request: web.Request) -> web.Response:
        state.reset()
        return _json({"reset": True})

    async def config(request: web.Request) -> web.Response:
        if request.method == "POST":
            body = await _read(request)
            known = {f.name for f in fields(state.config)}
            for key, value in body.items():
                if key not in known:
                    return _json({"error": f"unknown setting {key!r}"}, 400)
                setattr(state.config, key, value)
            state.cache.min_tokens = state.config.min_cache_tokens
        return _json(asdict(state.config))

    app.router.add_post("/_fake/faults", faults)
    app.router.add_post("/_fake/answers", answers)
    app.router.add_get("/_fake/requests", log)
    app.router.add_post("/_fake/reset", reset)
    app.router.add_get("/_fake/config", config)
    app.router.add_post("/_fake/config", config)
