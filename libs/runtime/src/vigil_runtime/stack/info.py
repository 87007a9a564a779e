"""Value types of the local stack: the per-server state file and the stack summary."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Backend = Literal["local", "embedded"]
SERVER_NAMES: tuple[str, ...] = ("postgres", "redis", "mqtt")
STATE_FILE = "state.json"
ENV_FILE = "stack.env"


class StackError(RuntimeError):
    """A server of the local stack could not be found, started, or stopped."""


@dataclass(frozen=True)
class ServerState:
    """What a running server left behind so another process can find and stop it.

    Stored as JSON in ``<data_dir>/<server>/state.json``. ``extra`` holds per-server
    details (PostgreSQL data folder, OS user, binary folder, log file).
    """

    backend: Backend
    pid: int
    port: int
    url: str
    extra: dict[str, str] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Write the state atomically (temp file + rename) so readers never see half of it."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> ServerState | None:
        """Read a state file; ``None`` when it is missing or unreadable (treated as stopped)."""
        try:
            raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            backend = raw["backend"]
            if backend not in ("local", "embedded"):
                return None
            return cls(
                backend=backend,
                pid=int(raw["pid"]),
                port=int(raw["port"]),
                url=str(raw["url"]),
                extra={str(k): str(v) for k, v in dict(raw.get("extra", {})).items()},
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class StackInfo:
    """Connection URLs of a running stack, which backend serves each, and caveats."""

    database_url: str
    redis_url: str
    mqtt_url: str
    backends: dict[str, str]
    warnings: list[str]
    data_dir: Path

    def env(self) -> dict[str, str]:
        """The ``VIGIL_*`` variables a service needs to reach this stack.

        The embedded MQTT broker (amqtt) speaks MQTT 3.1.1 only, without shared
        subscriptions: then ``VIGIL_MQTT_PROTOCOL=v311`` tells every MQTT client so.
        """
        env = {
            "VIGIL_DATABASE_URL": self.database_url,
            "VIGIL_REDIS_URL": self.redis_url,
            "VIGIL_MQTT_URL": self.mqtt_url,
        }
        if self.backends.get("mqtt") == "embedded":
            env["VIGIL_MQTT_PROTOCOL"] = "v311"
        return env

    def write_env(self, path: Path | None = None) -> Path:
        """Write ``KEY=value`` lines (default ``<data_dir>/stack.env``) and return the path."""
        target = path if path is not None else self.data_dir / ENV_FILE
        lines = [f"{key}={value}" for key, value in self.env().items()]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return target
