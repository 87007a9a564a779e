"""The simulated fleet of the optimizer benchmark: vigil-onvif-sim in its own process, and
the cameras registered as the operator would (encrypted ONVIF login, site, purpose).

:func:`layout` spreads ``live`` cameras over ``sites`` sites (camera ``i`` on site
``i % sites``), each with a purpose, scene and lighting from :data:`PROFILES` in turn and a
per-call latency spread evenly over ``latency_ms`` (:func:`latency_of`); a quarter of them
have a dark, noisy scene (as the demo's degraded cameras). Then one **dead** camera per site:
a simulated camera whose every SOAP answer waits :data:`HANG_S` (the simulator's ``delay_s``
fault), so the optimizer's calls time out and are retried: the worst kind of dead camera for
a scheduler, since it holds its slot for the whole timeout (a refused port fails in
milliseconds).

:class:`SimProcess` runs ``python -m vigil_tools.onvif_sim`` as a child process, so the
simulator's CPU (SOAP rendering, snapshot JPEGs) is not counted as the optimizer's, and sets
each camera's latency and scene through its control API. :func:`register` inserts the
cameras into ``cameras`` with their login encrypted by :class:`CredentialCipher`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.harness.processes import terminate
from vigil_cli.demo_onvif import DARK_SCENE, free_port_range
from vigil_runtime.crypto import CredentialCipher
from vigil_runtime.stack.procs import log_tail
from vigil_schema.camera import CameraCredentials

USER = "vigil-bench"
HANG_S = 3600.0
"""A dead camera's answer delay: far beyond any ONVIF timeout."""
START_TIMEOUT_S = 60.0

PROFILES: tuple[dict[str, Any], ...] = (
    {"purpose": "overview", "scene_type": "indoor", "tags": {"lighting": "artificial"}},
    {"purpose": "facial", "scene_type": "entrance", "tags": {"lighting": "backlit"}},
    {"purpose": "plates", "scene_type": "parking",
     "tags": {"lighting": "mixed", "speed_kmh": 30}},
    {"purpose": "detection", "scene_type": "outdoor",
     "tags": {"lighting": "daylight", "motion": "high"}},
)  # fmt: skip
"""Purposes, scenes and lighting given to the cameras in turn."""


@dataclass(frozen=True)
class BenchCamera:
    """One registered camera and the simulated camera behind it."""

    camera_id: str
    site: str
    index: int
    """The simulated camera ``onvif-<index>`` on ``base_port + index``."""
    latency_ms: float
    dark: bool
    dead: bool


def latency_of(index: int, count: int, latency_ms: tuple[float, float]) -> float:
    """Camera ``index`` of ``count``'s per-call latency: evenly spread over the range, in
    an order unrelated to the sites (so no site gets only slow cameras)."""
    low, high = latency_ms
    if count <= 1:
        return round((low + high) / 2, 1)
    step = (index * 7919) % count  # 7919 is prime: a permutation of 0..count-1 when coprime
    return round(low + (high - low) * step / (count - 1), 1)


def layout(live: int, sites: int, latency_ms: tuple[float, float]) -> list[BenchCamera]:
    """``live`` cameras then one dead camera per site (see the module docstring)."""
    if live < 1 or sites < 1:
        raise ValueError("at least one camera and one site")
    cameras = [
        BenchCamera(f"bench-opt-{i:04d}", _site(i % sites), i, latency_of(i, live, latency_ms),
                    dark=i % 4 == 0, dead=False)
        for i in range(live)
    ]  # fmt: skip
    cameras += [
        BenchCamera(f"bench-opt-dead-{s:02d}", _site(s), live + s, latency_ms[1],
                    dark=False, dead=True)
        for s in range(sites)
    ]  # fmt: skip
    return cameras


def _site(number: int) -> str:
    return f"site-{number:02d}"


class SimProcess:
    """``vigil-onvif-sim`` serving ``count`` cameras from a free port range (a child)."""

    def __init__(self, count: int, password: str, log: Path) -> None:
        self.count = count
        self.password = password
        self.log = log
        self.base_port = free_port_range(count)
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        """The simulator's pid (for its CPU figure)."""
        if self.proc is None:
            raise RuntimeError("the simulator is not running")
        return self.proc.pid

    async def start(self) -> None:
        """Start it and wait until every camera's port answers its control API."""
        argv = [sys.executable, "-m", "vigil_tools.onvif_sim", "--cameras", str(self.count),
                "--base-port", str(self.base_port), "--vendor", "mixed", "--user", USER,
                "--password", self.password]  # fmt: skip
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(*argv, stdout=out, stderr=out)
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
        async with aiohttp.ClientSession() as http:
            while not await self._answers(http, self.count - 1):
                if self.proc.returncode is not None or asyncio.get_running_loop().time() > deadline:
                    await self.stop()
                    raise RuntimeError(f"vigil-onvif-sim did not start:\n{log_tail(self.log)}")
                await asyncio.sleep(0.2)

    async def _answers(self, http: aiohttp.ClientSession, index: int) -> bool:
        try:
            async with http.get(self._url(index, "state")) as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    def _url(self, index: int, what: str) -> str:
        return f"http://127.0.0.1:{self.base_port + index}/sim/onvif-{index}/{what}"

    async def configure(self, cameras: Sequence[BenchCamera]) -> None:
        """Set each camera's latency (or the dead ones' hang) and the dark scenes."""
        async with aiohttp.ClientSession() as http:
            for camera in cameras:
                faults: dict[str, float] = {"latency_ms": camera.latency_ms}
                if camera.dead:
                    faults["delay_s"] = HANG_S
                await self._post(http, camera.index, "faults", faults)
                if camera.dark:
                    await self._post(http, camera.index, "scene", dict(DARK_SCENE))

    async def _post(self, http: aiohttp.ClientSession, index: int, what: str,
                    body: dict[str, float]) -> None:  # fmt: skip
        async with http.post(self._url(index, what), data=json.dumps(body)) as response:
            if response.status != 200:
                raise RuntimeError(f"simulator {what} of camera {index}: {await response.text()}")

    async def stop(self) -> None:
        """SIGTERM (then SIGKILL) the simulator."""
        if self.proc is not None:
            await terminate([self.proc], timeout_s=10.0)


async def register(pool: asyncpg.Pool, cameras: Sequence[BenchCamera], base_port: int,
                   password: str, cipher: CredentialCipher) -> None:  # fmt: skip
    """Insert ``cameras`` (active, policy ``manual``) with their login encrypted."""
    login = CameraCredentials.model_validate({"username": USER, "password": password})
    token = cipher.encrypt(login.to_json_bytes())
    rows = []
    for camera in cameras:
        profile = PROFILES[camera.index % len(PROFILES)]
        rows.append((camera.camera_id, f"benchmark {camera.camera_id}", camera.site,
                     profile["purpose"], profile["scene_type"], base_port + camera.index,
                     token, profile["tags"]))  # fmt: skip
    await pool.executemany(
        "INSERT INTO cameras (id, name, site, purpose, scene_type, ip, onvif_port, "
        "credentials_encrypted, apply_policy, tags) "
        "VALUES ($1, $2, $3, $4, $5, '127.0.0.1', $6, $7, 'manual', $8)",
        rows,
    )


async def set_policy(pool: asyncpg.Pool, cameras: Sequence[BenchCamera], policy: str) -> None:
    """Give ``cameras`` the apply policy ``policy`` (``auto``: a confident recommendation is
    applied at once, with no maintenance window)."""
    await pool.execute(
        "UPDATE cameras SET apply_policy = $2, maintenance_window = NULL WHERE id = ANY($1)",
        [camera.camera_id for camera in cameras], policy,
    )  # fmt: skip
