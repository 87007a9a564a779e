"""The jsonb encoder (orjson with a json fallback) stores exactly what ``json.dumps`` stored."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil_runtime.db import _encode_jsonb

_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)


def _legacy(value: Any) -> bytes:
    return b"\x01" + json.dumps(value, separators=(",", ":")).encode()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(JSON_VALUES)
async def test_jsonb_values_are_stored_as_with_json(pg_pool: asyncpg.Pool, value: Any) -> None:
    encoded = _encode_jsonb(value)
    assert encoded[:1] == b"\x01"
    async with pg_pool.acquire() as conn:
        same = await conn.fetchval(
            "SELECT $1::text::jsonb::text = $2::text::jsonb::text",
            encoded[1:].decode(),
            _legacy(value)[1:].decode(),
        )
    assert same


def test_values_orjson_would_change_or_refuse_use_json() -> None:
    for value in ([float("nan")], {"x": float("inf")}, {"n": 2**64}, {1: "a"}, ["\ud800"], None):
        assert _encode_jsonb(value) == _legacy(value)
