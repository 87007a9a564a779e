"""The test stack on Docker via testcontainers (``VIGIL_TEST_STACK=containers``).

Skips the session's stack-dependent tests with a clear reason when no Docker engine answers.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil_runtime.stack import StackInfo
from vigil_runtime.stack.mqtt_server import mosquitto_config

POSTGRES_IMAGE = "postgres:16-alpine"
REDIS_IMAGE = "redis:7-alpine"
MOSQUITTO_IMAGE = "eclipse-mosquitto:2"


def docker_engine_error() -> str | None:
    """``None`` when a Docker engine answers a ping, else why not."""
    try:
        docker = importlib.import_module("docker")  # installed with testcontainers
        client = docker.from_env(timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # any failure means "no usable engine"
        return f"{type(exc).__name__}: {exc}"
    return None


@contextlib.contextmanager
def container_stack(workdir: Path) -> Iterator[StackInfo]:
    """PostgreSQL, Redis and Mosquitto containers for one test session."""
    error = docker_engine_error()
    if error is not None:
        pytest.skip(f"VIGIL_TEST_STACK=containers but no Docker engine answers ({error})")
    from testcontainers.community.mqtt import MosquittoContainer
    from testcontainers.community.postgres import PostgresContainer
    from testcontainers.community.redis import RedisContainer

    config = workdir / "mosquitto.conf"
    config.write_text(mosquitto_config(1883, Path("/data"), None, bind=None))
    postgres = PostgresContainer(POSTGRES_IMAGE, username="postgres", dbname="vigil", driver=None)
    with contextlib.ExitStack() as cleanup:
        cleanup.enter_context(postgres)
        redis = cleanup.enter_context(RedisContainer(REDIS_IMAGE))
        broker = MosquittoContainer(MOSQUITTO_IMAGE)
        cleanup.callback(broker.stop)
        broker.start(configfile=str(config))
        redis_host, redis_port = redis.get_container_host_ip(), redis.get_exposed_port(6379)
        mqtt_host, mqtt_port = broker.get_container_host_ip(), broker.get_exposed_port(1883)
        yield StackInfo(
            database_url=postgres.get_connection_url(),
            redis_url=f"redis://{redis_host}:{redis_port}/0",
            mqtt_url=f"mqtt://{mqtt_host}:{mqtt_port}",
            backends={"postgres": "container", "redis": "container", "mqtt": "container"},
            warnings=[],
            data_dir=workdir,
        )
