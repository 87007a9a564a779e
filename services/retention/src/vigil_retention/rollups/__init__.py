"""The rollups: definitions (one module each), the watermark runner, pruning, scenario SQL.

:data:`ROLLUPS` maps each ``rollup_state.rollup_name`` to its :class:`Rollup`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from vigil_retention.rollups.base import Rollup
from vigil_retention.rollups.camera_stats_hourly import CAMERA_STATS_HOURLY
from vigil_retention.rollups.occupancy_hourly import OCCUPANCY_HOURLY
from vigil_retention.rollups.system_metrics_1m import SYSTEM_METRICS_1M

__all__ = ["ROLLUPS", "Rollup"]

ROLLUPS: Final[Mapping[str, Rollup]] = MappingProxyType(
    {r.name: r for r in (SYSTEM_METRICS_1M, OCCUPANCY_HOURLY, CAMERA_STATS_HOURLY)}
)
