"""Settings of vigil-ingest: the shared `VigilSettings` with this service's name and port."""

from __future__ import annotations

from pydantic import Field

from vigil_runtime.settings import VigilSettings


class IngestSettings(VigilSettings):
    """`VIGIL_*` environment (and the stack env file); ops HTTP port 9101 by default."""

    service_name: str = "ingest"
    http_port: int = Field(default=9101, ge=0, le=65535)
