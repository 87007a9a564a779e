"""StackInfo's environment: what every service reads from the stack env file."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil_runtime.stack.info import StackInfo


def _info(mqtt_backend: str, data_dir: Path) -> StackInfo:
    return StackInfo(
        database_url="postgresql://postgres@127.0.0.1:5432/vigil",
        redis_url="redis://127.0.0.1:6379/0",
        mqtt_url="mqtt://127.0.0.1:1883",
        backends={"postgres": "local", "redis": "local", "mqtt": mqtt_backend},
        warnings=[],
        data_dir=data_dir,
    )


@pytest.mark.parametrize(("backend", "protocol"), [("local", None), ("embedded", "v311")])
def test_env_names_the_mqtt_protocol_only_for_the_embedded_broker(
    tmp_path: Path, backend: str, protocol: str | None
) -> None:
    info = _info(backend, tmp_path)
    assert info.env().get("VIGIL_MQTT_PROTOCOL") == protocol
    lines = info.write_env().read_text().splitlines()
    assert ("VIGIL_MQTT_PROTOCOL=v311" in lines) is (protocol is not None)
    assert "VIGIL_MQTT_URL=mqtt://127.0.0.1:1883" in lines
