"""Control of a fake running in another process (``vigil-fake-anthropic``) over its /_fake
routes: the same methods as :class:`testing.FakeAnthropic`, awaited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp


class RemoteFake:
    """`base_url` of a running fake, e.g. `http://127.0.0.1:8765`."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, f"{self.base_url}{path}", json=body) as response,
        ):
            response.raise_for_status()
            return await response.json()

    async def add_faults(self, *faults: Mapping[str, Any]) -> None:
        """Queue faults for the next requests."""
        await self._call("POST", "/_fake/faults", {"faults": [dict(f) for f in faults]})

    async def script_answers(self, *inputs: Any) -> None:
        """The next tool inputs, used verbatim."""
        await self._call("POST", "/_fake/answers", {"answers": list(inputs)})

    async def summary(self) -> dict[str, Any]:
        """Counts per path and status, and token totals."""
        result: dict[str, Any] = await self._call("GET", "/_fake/requests?entries=0")
        return result

    async def requests(self) -> list[dict[str, Any]]:
        """Every logged request."""
        result: dict[str, Any] = await self._call("GET", "/_fake/requests")
        return list(result["requests"])

    async def configure(self, **settings: Any) -> dict[str, Any]:
        """Change settings (latency_s, batch_delay_s, min_cache_tokens, api_key)."""
        result: dict[str, Any] = await self._call("POST", "/_fake/config", settings)
        return result

    async def reset(self) -> None:
        """Forget faults, answers, cached prefixes, the log and the batches."""
        await self._call("POST", "/_fake/reset", {})
