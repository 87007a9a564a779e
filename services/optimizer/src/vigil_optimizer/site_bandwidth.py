"""Each camera's share of its site's bit rate budget (seed 001 §2.4), for the recommenders.

``VIGIL_SITE_BANDWIDTH_KBPS`` maps a site to the kbit/s its uplink can carry for all its
cameras (JSON, e.g. ``{"hq": 40000}``). :meth:`SiteBandwidth.share` reads the site's
registered cameras (purpose, and the main profile of their stored capabilities) and divides
the budget with :func:`~vigil_optimizer.heuristic.allocation.allocate_bandwidth`; a camera
without a site, or whose site has no budget, gets None (no bandwidth constraint).
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from vigil_optimizer.camera_targets import CameraTarget
from vigil_optimizer.heuristic.allocation import CameraDemand, allocate_bandwidth
from vigil_schema.camera_settings import CameraCapabilities

__all__ = ["SiteBandwidth"]

_SITE_CAMERAS_SQL = """
SELECT id, purpose, capabilities FROM cameras
WHERE site = $1 AND desired_state = 'active' ORDER BY id
"""


def _demand(camera_id: str, purpose: str | None, capabilities: object) -> CameraDemand:
    try:
        caps = CameraCapabilities.model_validate(capabilities or {})
    except ValueError:
        caps = CameraCapabilities()
    main = caps.profile(None)
    if main is None:
        return CameraDemand(camera_id, purpose)
    return CameraDemand(camera_id, purpose, main.resolution, main.fps, main.encoding)


class SiteBandwidth:
    """See the module docstring."""

    def __init__(self, pool: asyncpg.Pool, budgets_kbps: Mapping[str, int]) -> None:
        self._pool = pool
        self._budgets = dict(budgets_kbps)

    async def share(self, target: CameraTarget) -> int | None:
        """``target``'s kbit/s out of its site's budget, or None without a budget."""
        site = target.config.site
        budget = self._budgets.get(site) if site is not None else None
        if budget is None:
            return None
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_SITE_CAMERAS_SQL, site)
        demands = [_demand(r["id"], r["purpose"], r["capabilities"]) for r in rows]
        if target.camera_id not in {d.camera_id for d in demands}:
            demands.append(_demand(target.camera_id, target.config.purpose, None))
        return allocate_bandwidth(budget, demands).get(target.camera_id)
