"""Receivers' integrations, one module each, built from a config ``Receiver``.

:func:`build_integrations` maps each entry of a receiver's ``webhook_configs``,
``apprise_configs`` and ``log_configs`` to an :class:`~vigil_alerter.receivers.base.
Integration`, keyed by its outbox channel ``"<kind>:<index>"`` (``"webhook:0"``,
``"apprise:1"``, ``"log:0"``), the index in that list. Building is cheap and holds no
connection (each send opens its own, or webhooks use the ``http`` session given: the
dispatcher's keep-alive pool), so the dispatcher rebuilds from the current config.
"""

from __future__ import annotations

import aiohttp

from vigil_alerter.config.models import Receiver
from vigil_alerter.receivers.apprise_sender import AppriseIntegration
from vigil_alerter.receivers.base import DeliveryError, Integration, SendOutcome
from vigil_alerter.receivers.log import LogIntegration
from vigil_alerter.receivers.webhook import WebhookIntegration

__all__ = [
    "DeliveryError",
    "Integration",
    "SendOutcome",
    "build_integrations",
    "channel_of",
]


def channel_of(kind: str, index: int) -> str:
    """The outbox ``channel`` of entry ``index`` of ``<kind>_configs``."""
    return f"{kind}:{index}"


def build_integrations(
    receiver: Receiver, *, http: aiohttp.ClientSession | None = None
) -> dict[str, Integration]:
    """Every integration of ``receiver`` by channel (empty for a blackhole receiver)."""
    integrations: dict[str, Integration] = {}
    for index, webhook in enumerate(receiver.webhook_configs):
        integrations[channel_of("webhook", index)] = WebhookIntegration(webhook, session=http)
    for index, apprise_config in enumerate(receiver.apprise_configs):
        integrations[channel_of("apprise", index)] = AppriseIntegration(apprise_config)
    for index, log_config in enumerate(receiver.log_configs):
        integrations[channel_of("log", index)] = LogIntegration(log_config)
    return integrations
