"""The request log behind GET /_fake/requests: every API request, its outcome and usage.

An entry: `path` (the route, e.g. `/v1/messages/batches/{batch_id}`, or `batch_item` for a
request inside a batch), `method`, `status`, `fault` (its kind, if one was applied), `model`,
`usage` (the answer's), `image_sizes` (`[w, h]` as sent), `tool_choice`, and `body` (the
request with base64 image data replaced by its length). The summary counts requests per path
and per status and adds up the tokens of every answer.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


def elide_images(value: Any) -> Any:
    """`value` with every base64 image `data` replaced by `"<N base64 chars>"`."""
    if isinstance(value, dict):
        if value.get("type") == "base64" and isinstance(value.get("data"), str):
            return {**value, "data": f"<{len(value['data'])} base64 chars>"}
        return {key: elide_images(item) for key, item in value.items()}
    if isinstance(value, list):
        return [elide_images(item) for item in value]
    return value


class RequestLog:
    """Entries in arrival order."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, entry: dict[str, Any]) -> None:
        """Record one request."""
        self.entries.append(entry)

    def clear(self) -> None:
        """Forget every entry."""
        self.entries.clear()

    def summary(self, *, with_entries: bool = True) -> dict[str, Any]:
        """`count`, `by_path`, `by_status`, `tokens` (totals) and, optionally, `requests`."""
        tokens = dict.fromkeys(TOKEN_FIELDS, 0)
        for entry in self.entries:
            usage = entry.get("usage") or {}
            for key in TOKEN_FIELDS:
                tokens[key] += int(usage.get(key) or 0)
        out: dict[str, Any] = {
            "count": len(self.entries),
            "by_path": dict(Counter(e["path"] for e in self.entries)),
            "by_status": {
                str(k): v for k, v in Counter(e.get("status") for e in self.entries).items()
            },
            "tokens": tokens,
        }
        if with_entries:
            out["requests"] = self.entries
        return out
