"""vigil-optimizer: camera health → settings recommendations → ONVIF apply.

Wiring only (docs/optimizer.md): the review pipeline (:mod:`vigil_optimizer.pipeline`: ONVIF
inspection, snapshot health, the heuristic or Claude engine, the policy and the safe apply)
runs under the fleet scheduler (:mod:`vigil_optimizer.scheduler`: a global and a per-site
bound, a timeout per review), fed by three triggers: degraded samples on ``vigil:health``,
requests on ``vigil:optimizer:requests`` (``vigil optimize`` / ``vigil recommendations``) and
the periodic review of every camera, which only the leader replica runs.

A ``recommend`` request becomes a manual review; ``inspect`` inspects and stores the
capabilities; ``apply`` applies a stored recommendation now (an operator's approval: the
camera's ``off`` policy still refuses it); ``verify`` reads the camera back and records
whether it still has the recommendation's settings.

On SIGTERM the triggers stop first, then the scheduler lets running reviews finish for
``review_drain_s`` and cancels the rest. /readyz reports postgres and redis (the runtime's)
and ``secret_key``: not ready while ``VIGIL_SECRET_KEY`` cannot decrypt camera logins.
"""

from __future__ import annotations

import asyncio
from typing import cast

import httpx

from vigil_optimizer.pipeline import build_reviewer
from vigil_optimizer.review import Reviewer
from vigil_optimizer.scheduler import FleetScheduler
from vigil_optimizer.settings import OptimizerSettings
from vigil_optimizer.triggers.cameras import CameraDirectory
from vigil_optimizer.triggers.health import HealthTrigger
from vigil_optimizer.triggers.periodic import PeriodicTrigger
from vigil_optimizer.triggers.requests import RequestActions, RequestTrigger
from vigil_runtime.crypto import CredentialCipher, SecretKeyError
from vigil_runtime.ops import failing_check
from vigil_runtime.service import ServiceContext, service_main
from vigil_runtime.tasks import cancel_until_done
from vigil_schema.messages import OptimizerRequest

SERVICE = "optimizer"


def _cipher(ctx: ServiceContext, settings: OptimizerSettings) -> CredentialCipher | None:
    """The credential cipher; without a usable key the optimizer is not ready."""
    try:
        return CredentialCipher.from_secret(settings.secret_key)
    except SecretKeyError as exc:
        ctx.log.error("camera logins cannot be decrypted", error=str(exc))
        ctx.ops.add_check("secret_key", failing_check(str(exc)))
        return None


def request_actions(reviewer: Reviewer) -> RequestActions:
    """The request trigger's inspect, apply and verify callables."""

    async def inspect(request: OptimizerRequest) -> None:
        await reviewer.inspect(request.camera_id)

    async def apply(request: OptimizerRequest) -> None:
        assert request.optimization_id is not None  # the trigger dead-letters one without
        await reviewer.apply(request.optimization_id, request.requested_by)

    async def verify(request: OptimizerRequest) -> None:
        assert request.optimization_id is not None  # the trigger dead-letters one without
        await reviewer.verify(request.optimization_id, request.requested_by)

    return RequestActions(inspect=inspect, apply=apply, verify=verify)


async def body(ctx: ServiceContext) -> None:
    """Run the optimizer until a stop is requested."""
    settings = cast(OptimizerSettings, ctx.settings)
    cipher = _cipher(ctx, settings)
    timeout = httpx.Timeout(settings.onvif_timeout_s)
    async with ctx.dependencies() as deps, httpx.AsyncClient(timeout=timeout) as http:
        reviewer = build_reviewer(settings, deps.pool, deps.redis, cipher, http)

        async def review(camera_id: str, reason: str) -> None:
            await reviewer.review(camera_id, reason)

        directory = CameraDirectory(deps.pool)
        await directory.start()
        scheduler = FleetScheduler.from_settings(review, settings, site_of=directory.site_of)
        triggers: list[HealthTrigger | RequestTrigger | PeriodicTrigger] = [
            HealthTrigger(deps.redis, scheduler, directory, settings),
            RequestTrigger(deps.redis, scheduler, request_actions(reviewer), settings),
            PeriodicTrigger(deps.redis, deps.pool, scheduler, settings),
        ]
        scheduler_stop = asyncio.Event()
        running = asyncio.create_task(
            scheduler.run(scheduler_stop, drain_s=settings.review_drain_s)
        )
        tasks = [asyncio.create_task(trigger.run(ctx.stopping)) for trigger in triggers]
        ctx.log.info("optimizer running", global_concurrency=settings.global_concurrency,
                     per_site_concurrency=settings.per_site_concurrency,
                     engine=type(reviewer.engine).__name__)  # fmt: skip
        try:
            await asyncio.gather(*tasks)
        finally:
            await cancel_until_done(tasks)
            scheduler_stop.set()
            await asyncio.wait({running}, timeout=settings.review_drain_s + 5.0)
            await cancel_until_done([running])
            await directory.close()
            close = getattr(reviewer.engine, "close", None)
            if close is not None:
                await close()


def main() -> None:
    """Console script `vigil-optimizer`."""
    service_main(SERVICE, OptimizerSettings, body)


if __name__ == "__main__":
    main()
