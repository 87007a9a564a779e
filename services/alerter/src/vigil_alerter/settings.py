"""Settings of vigil-alerter: the shared `VigilSettings` with this service's name and port."""

from __future__ import annotations

from pydantic import Field

from vigil_runtime.settings import VigilSettings


class AlerterSettings(VigilSettings):
    """`VIGIL_*` environment (and the stack env file); ops HTTP port 9104 by default."""

    service_name: str = "alerter"
    http_port: int = Field(default=9104, ge=0, le=65535)
