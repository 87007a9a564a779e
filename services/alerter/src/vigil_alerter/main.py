"""vigil-alerter: alert candidates -> alerts -> aggregation groups -> notifications.

Wiring only (docs/alerter.md). Every replica runs the same loops; PostgreSQL row locks, not a
leader, keep them from doing the same work twice:

- intake: the ``vigil:alerts`` consumer group (candidates from every service) and, when the
  configuration has ``rules``, consumers of ``vigil:detections`` / ``vigil:events``
  (:mod:`vigil_alerter.rules`); Alertmanager's ``POST /api/v2/alerts`` feeds the same
  :class:`~vigil_alerter.engine.intake.Intake`;
- the housekeeping tick (every ``alerter_flush_interval_s``): expire alerts whose
  ``endsAt`` passed, flush due aggregation groups into the notification outbox, queue
  escalations (rule alerts are refreshed and resolved by the rules' leader,
  :mod:`vigil_alerter.rules.leader_consumers`); the flush also runs as soon as intake
  committed a batch, and again at once while a step flushed its full ``FLUSH_LIMIT``;
- the dispatcher: leases due outbox rows and delivers them, one lane per receiver; woken as
  soon as a flush queued something;
- the configuration holder: reloads on SIGHUP and on file change, keeping the old tree when
  the new file is invalid.

The HTTP API (Alertmanager's /api/v2 and Vigil's /api/vigil/v1) is served on the ops port; its
handlers answer 503 until the connections are up. A configuration file that does not load
stops the process at start with exit status 2 and a message naming the line and the field.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import cast

from aiohttp import web
from pydantic import ValidationError

from vigil_alerter.api import api_routes, config_text
from vigil_alerter.api.deps import ApiDeps
from vigil_alerter.config.holder import ConfigHolder
from vigil_alerter.config.loader import ConfigError, load_config
from vigil_alerter.delivery.dispatcher import Dispatcher
from vigil_alerter.delivery.settings import DeliverySettings
from vigil_alerter.engine.escalation import escalate_due
from vigil_alerter.engine.expiry import expire_alerts
from vigil_alerter.engine.flusher import Flusher
from vigil_alerter.engine.intake import Intake
from vigil_alerter.rules.leader_consumers import RuleConsumers
from vigil_alerter.settings import AlerterSettings
from vigil_runtime.service import Body, ServiceContext, package_version, service_main
from vigil_runtime.streams import StreamConsumer
from vigil_runtime.tasks import cancel_until_done, wait_event
from vigil_schema.clock import utc_now
from vigil_schema.streams import ALERTS

SERVICE = "alerter"
FLUSH_LIMIT = 200
"""Groups per flush step: a step that flushed as many runs again at once."""
GROUP = "alerter"


async def _every(
    ctx: ServiceContext,
    interval_s: float,
    name: str,
    step: Callable[[], Awaitable[object]],
    *,
    wake: asyncio.Event | None = None,
) -> None:
    """Run ``step`` every ``interval_s`` (or as soon as ``wake`` is set) until stopping; at
    once again when it returned ``True`` (more work is due); an error is logged, never fatal."""
    while not ctx.stopping.is_set():
        more = False
        try:
            more = await step() is True
        except Exception:
            ctx.log.exception("housekeeping step failed", step=name)
        if more:
            await asyncio.sleep(0)  # let the other loops run between batches
            continue
        if wake is None:
            if await ctx.sleep(interval_s):
                return
        else:
            await wait_event(wake, interval_s)
            wake.clear()


class ApiSlot:
    """The API's deps once connected: its routes are served before (503 until then)."""

    def __init__(self) -> None:
        self.deps: ApiDeps | None = None

    def routes(self) -> list[web.RouteDef]:
        return api_routes(lambda: self.deps)


def make_body(api: ApiSlot) -> Body:
    """The service body; ``api`` holds the deps of the routes the ops server already serves."""

    async def body(ctx: ServiceContext) -> None:
        await run_alerter(ctx, api)

    return body


async def run_alerter(ctx: ServiceContext, api: ApiSlot) -> None:
    """Connect, bind the API, run intake, housekeeping and delivery until stopping."""
    settings = cast(AlerterSettings, ctx.settings)
    clock = utc_now
    holder = ConfigHolder(settings.alerter_config, clock)
    remove_sighup = holder.install_sighup(asyncio.get_running_loop())
    async with ctx.dependencies() as deps:
        pool, redis = deps.pool, deps.redis
        external_url = holder.current.config.global_.external_url or settings.alerter_external_url
        flush_wake = asyncio.Event()
        intake = Intake(pool, holder, clock, on_ingested=flush_wake.set)
        flusher = Flusher(
            pool, holder, clock, external_url, max_delivery=settings.delivery_max_total
        )
        dispatcher = Dispatcher(
            pool,
            holder,
            redis,
            clock,
            DeliverySettings.from_settings(settings),
            owner=settings.instance,
        )
        api.deps = ApiDeps(
            pool=pool,
            holder=holder,
            clock=clock,
            intake=intake,
            api_token=settings.alerter_api_token,
            started_at=clock(),
            config_text=config_text(settings.alerter_config),
            audit_pool=pool,
            version=package_version(SERVICE),
        )
        consumer = StreamConsumer(redis, ALERTS, GROUP, settings.instance, intake.handle_entries)
        rules = RuleConsumers(redis, pool, holder, intake, clock, instance=settings.instance)

        async def escalate() -> int:
            return await escalate_due(
                pool,
                holder,
                clock,
                external_url=external_url,
                max_total=settings.delivery_max_total,
            )

        async def flush() -> bool:
            flushed = await flusher.flush_due(FLUSH_LIMIT)
            if flushed:
                dispatcher.wake()
            return flushed >= FLUSH_LIMIT

        interval = settings.alerter_flush_interval_s
        tasks = [
            asyncio.create_task(consumer.run(ctx.stopping), name="alerts-consumer"),
            asyncio.create_task(rules.run(ctx.stopping), name="rule-consumers"),
            asyncio.create_task(holder.watch(ctx.stopping, settings.alerter_config_poll_s)),
            asyncio.create_task(dispatcher.run(ctx.stopping), name="dispatcher"),
            asyncio.create_task(
                _every(ctx, interval, "expire", lambda: expire_alerts(pool, clock))
            ),
            asyncio.create_task(_every(ctx, interval, "flush", flush, wake=flush_wake)),
            asyncio.create_task(_every(ctx, interval, "escalate", escalate)),
        ]
        ctx.mark_running()
        try:
            await ctx.stopping.wait()
        finally:
            api.deps = None
            remove_sighup()
            await cancel_until_done(tasks)


def main() -> None:
    """Console script `vigil-alerter`: a configuration that does not load stops it (status 2)."""
    try:
        settings = AlerterSettings()
    except ValidationError:  # service_main reports it, one line per setting
        service_main(SERVICE, AlerterSettings, make_body(ApiSlot()))
    try:
        load_config(settings.alerter_config)
    except ConfigError as exc:
        print(f"vigil-alerter: {exc}", file=sys.stderr)
        sys.exit(2)
    api = ApiSlot()
    service_main(SERVICE, AlerterSettings, make_body(api), routes=api.routes())


if __name__ == "__main__":
    main()
