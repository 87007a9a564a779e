"""The optimizer's deployment, checked against the code it deploys.

- docker-compose.yml: the optimizer gets the credential key (``VIGIL_SECRET_KEY``), a named
  volume at ``VIGIL_SNAPSHOT_DIR``, the Claude key and endpoint passed through (never an
  empty value), and the cameras' network where the demo's onvif-sim has the fixed address
  its command advertises; onvif-sim's command is one the simulator's own parser accepts.
- The Kubernetes base: the key from ``vigil-secrets`` (required), the snapshot folder on the
  PVC the manifest claims (``Recreate``, since it is ReadWriteOnce), the Claude key optional.
- The Dockerfile makes the snapshot folder, owned by the service user, in the final image.
- Every setting both deployments give the optimizer is one ``OptimizerSettings`` reads.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from vigil_optimizer.settings import OptimizerSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
K8S_OPTIMIZER = ROOT / "deploy/k8s/base/optimizer.yaml"
SNAPSHOT_DIR = "/var/lib/vigil/snapshots"


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return compose


def _k8s_docs() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(K8S_OPTIMIZER.read_text()) if doc]


def _k8s_container() -> tuple[dict[str, Any], dict[str, Any]]:
    [deployment] = [d for d in _k8s_docs() if d["kind"] == "Deployment"]
    return deployment, deployment["spec"]["template"]["spec"]["containers"][0]


def test_compose_optimizer_key_snapshots_and_claude_pass_through() -> None:
    compose = _compose()
    optimizer = compose["services"]["optimizer"]
    env = optimizer["environment"]
    assert env["VIGIL_SECRET_KEY"] == compose["x-vigil-env"]["VIGIL_SECRET_KEY"]
    assert env["VIGIL_SECRET_KEY"].startswith("${VIGIL_SECRET_KEY:?")  # refused when unset
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        assert env[name] is None, f"{name}: pass it through, never as a (possibly empty) value"
    assert env["VIGIL_SNAPSHOT_DIR"] == SNAPSHOT_DIR
    volume, _, target = optimizer["volumes"][0].partition(":")
    assert target == SNAPSHOT_DIR
    assert volume in compose["volumes"]  # a named volume, not a bind mount of the host


def test_compose_onvif_sim_reachable_at_the_address_it_advertises() -> None:
    cli = pytest.importorskip("vigil_tools.onvif_sim.cli", reason="onvif-sim not merged yet")
    compose = _compose()
    sim = compose["services"]["onvif-sim"]
    assert sim["profiles"] == ["demo"]
    program, *args = sim["command"]
    assert program == "vigil-onvif-sim"
    parsed = cli.build_parser().parse_args(args)
    assert (parsed.cameras, parsed.base_port, parsed.vendor) == (8, 8000, "mixed")
    assert parsed.bind == "0.0.0.0"
    [(network, address)] = sim["networks"].items()
    assert parsed.host == address["ipv4_address"]
    subnet = compose["networks"][network]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(parsed.host) in ipaddress.ip_network(subnet)
    assert network in compose["services"]["optimizer"]["networks"]
    first, last = parsed.base_port, parsed.base_port + parsed.cameras - 1
    assert sim["ports"] == [f"{first}-{last}:{first}-{last}"]


def test_k8s_optimizer_key_snapshot_volume_and_claude() -> None:
    deployment, container = _k8s_container()
    env = {e["name"]: e for e in container["env"]}
    assert env["VIGIL_SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "vigil-secrets", "key": "VIGIL_SECRET_KEY"}  # fmt: skip
    assert env["ANTHROPIC_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "vigil-anthropic", "key": "api-key", "optional": True}  # fmt: skip
    assert env["VIGIL_SNAPSHOT_DIR"]["value"] == SNAPSHOT_DIR
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    pod = deployment["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    claim = volumes[mounts[SNAPSHOT_DIR]]["persistentVolumeClaim"]["claimName"]
    [pvc] = [d for d in _k8s_docs() if d["kind"] == "PersistentVolumeClaim"]
    assert pvc["metadata"]["name"] == claim
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert deployment["spec"]["replicas"] == 1
    assert pod["securityContext"]["fsGroup"] == 10001


def test_dockerfile_makes_the_snapshot_folder_for_the_service_user() -> None:
    text = re.sub(r"\\\n", "", DOCKERFILE.read_text())
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    final = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    [run] = [line for line in final if "useradd" in line]
    assert "--uid 10001" in run
    assert f"install -d -o vigil -g vigil -m 0750 {SNAPSHOT_DIR}" in run
    assert "USER 10001" in final


def _deployed_env() -> dict[str, dict[str, Any]]:
    """Each deployment's optimizer environment: name → value (None when passed through)."""
    compose_env = _compose()["services"]["optimizer"]["environment"]
    _, container = _k8s_container()
    k8s_env = {e["name"]: e.get("value") for e in container["env"]}
    return {"compose": compose_env, "k8s": k8s_env}


@pytest.mark.parametrize("deployment", ["compose", "k8s"])
def test_every_optimizer_setting_is_read(deployment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _deployed_env()[deployment]
    known = set()
    for name, field in OptimizerSettings.model_fields.items():
        known.add(f"VIGIL_{name.upper()}")
        alias = field.validation_alias
        known |= {str(choice) for choice in getattr(alias, "choices", [alias]) if choice}
    unknown = {n for n in env if n.startswith(("VIGIL_", "ANTHROPIC_"))} - known
    assert not unknown, f"settings the optimizer does not read: {unknown}"
    for name in list(os.environ):
        if name.startswith(("VIGIL_", "ANTHROPIC_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VIGIL_ENV_FILE", "/dev/null")
    for name, value in env.items():
        if value is not None and "${" not in str(value):
            monkeypatch.setenv(name, str(value))
    settings = OptimizerSettings()
    assert str(getattr(settings, "snapshot_dir")) == SNAPSHOT_DIR  # noqa: B009
    assert settings.http_port == 9103
