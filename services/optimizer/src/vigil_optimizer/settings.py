"""Settings of vigil-optimizer: the shared `VigilSettings` with this service's name and port."""

from __future__ import annotations

from pydantic import Field

from vigil_runtime.settings import VigilSettings


class OptimizerSettings(VigilSettings):
    """`VIGIL_*` environment (and the stack env file); ops HTTP port 9103 by default."""

    service_name: str = "optimizer"
    http_port: int = Field(default=9103, ge=0, le=65535)
