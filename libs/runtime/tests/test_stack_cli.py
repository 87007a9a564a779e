"""`vigil stack up|status|down` against real local servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from vigil_runtime.stack.registry import available

cli_main = pytest.importorskip("vigil_cli.main")

needs_local = pytest.mark.skipif(
    not all(available(name, "local") for name in ("postgres", "redis", "mqtt")),
    reason="needs initdb/pg_ctl, redis-server and mosquitto on this machine",
)


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli_main.cli, ["stack", *args], env=env)
    return result.exit_code, result.output


@needs_local
def test_up_status_down(tmp_path: Path) -> None:
    data_dir = tmp_path / "vigil-data"
    try:
        code, out = invoke("up", env={"VIGIL_DATA_DIR": str(data_dir)})
        assert code == 0, out
        assert "postgresql://postgres@127.0.0.1:" in out
        assert (data_dir / "stack.env").exists()

        code, out = invoke("status", "--data-dir", str(data_dir))
        assert code == 0, out
        assert out.count("running") == 3
    finally:
        code, out = invoke("down", "--data-dir", str(data_dir), "--purge")
    assert code == 0, out
    code, out = invoke("status", "--data-dir", str(data_dir))
    assert code == 1
    assert out.count("stopped") == 3


def test_unknown_embedded_server_is_a_usage_error(tmp_path: Path) -> None:
    code, out = invoke("up", "--data-dir", str(tmp_path), "--embedded", "postgres,kafka")
    assert code == 2
    assert "kafka" in out
