"""Settings of vigil-retention: the shared `VigilSettings` with this service's name and port."""

from __future__ import annotations

from pydantic import Field

from vigil_runtime.settings import VigilSettings


class RetentionSettings(VigilSettings):
    """`VIGIL_*` environment (and the stack env file); ops HTTP port 9105 by default."""

    service_name: str = "retention"
    http_port: int = Field(default=9105, ge=0, le=65535)
