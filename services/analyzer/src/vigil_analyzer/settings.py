"""Settings of vigil-analyzer: the shared `VigilSettings` with this service's name and port."""

from __future__ import annotations

from pydantic import Field

from vigil_runtime.settings import VigilSettings


class AnalyzerSettings(VigilSettings):
    """`VIGIL_*` environment (and the stack env file); ops HTTP port 9102 by default."""

    service_name: str = "analyzer"
    http_port: int = Field(default=9102, ge=0, le=65535)
