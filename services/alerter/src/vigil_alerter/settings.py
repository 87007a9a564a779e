"""Settings of vigil-alerter: the shared `VigilSettings` plus the alerter's own (`VIGIL_*`).

- ``alerter_config``: the routing/receivers YAML (Alertmanager's format, docs/alerter.md);
  unset or missing file: the default route to the log receiver.
- ``alerter_api_token``: bearer token of Vigil's own endpoints (/api/vigil/v1/...); unset:
  those endpoints answer 503 (they are never open without a token). Alertmanager's /api/v2
  is unauthenticated, as Alertmanager's is: put it behind the network policy.
- ``alerter_external_url``: the URL notifications link back to (``externalURL``).
- delivery: attempts and total-time cap, backoff, lease (see ``vigil_alerter.delivery``).
  Durations are written as in the configuration file (``2s``, ``5m``, ``1h30m``), as ISO 8601
  (``PT2S``) or as a number of seconds.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr

from vigil_alerter.config.models import parse_duration
from vigil_runtime.settings import VigilSettings


def _duration(value: object) -> object:
    """Prometheus' syntax (``2s``) and numbers here; anything else (ISO 8601) to pydantic."""
    if isinstance(value, str) and value.isdigit():
        return timedelta(seconds=int(value))
    if isinstance(value, str) and value[:1].isdigit():
        try:
            return parse_duration(value)
        except ValueError:
            return value
    return value


SettingDuration = Annotated[timedelta, BeforeValidator(_duration)]


class AlerterSettings(VigilSettings):
    """`VIGIL_*` environment (and the stack env file); ops and API HTTP port 9104 by default."""

    service_name: str = "alerter"
    http_port: int = Field(default=9104, ge=0, le=65535)
    alerter_config: Path | None = None
    alerter_api_token: SecretStr | None = None
    alerter_external_url: str = "http://localhost:9104"
    alerter_flush_interval_s: float = Field(default=0.5, gt=0, le=60)
    """How often a replica looks for due groups, expired alerts and escalations."""
    alerter_config_poll_s: float = Field(default=2.0, gt=0, le=3600)
    delivery_max_attempts: int = Field(default=12, ge=1, le=1000)
    delivery_max_total: SettingDuration = timedelta(hours=1)
    delivery_backoff_base: SettingDuration = timedelta(seconds=1)
    delivery_backoff_cap: SettingDuration = timedelta(minutes=5)
    delivery_lease: SettingDuration = timedelta(seconds=60)
    delivery_workers_per_receiver: int = Field(default=16, ge=1, le=64)
