"""The retention service's deployment, checked against the code it deploys.

- docker-compose.yml: retention gets ``VIGIL_ARCHIVE_DIR`` on a named volume of its own and
  the optimizer's snapshot volume at the optimizer's ``VIGIL_SNAPSHOT_DIR`` (the files of an
  expired snapshots partition are deleted with it).
- The Kubernetes base: the loop Deployment (the default) with the archive PVC the manifest
  claims, the optimizer's snapshot claim, on the optimizer's node (that claim is
  ReadWriteOnce), ``Recreate``.
- The CronJob (base, suspended) runs ``vigil-retention --once`` with ``concurrencyPolicy:
  Forbid`` and the Deployment's pod settings; built with ``kubectl kustomize``, base and the
  overlays loop, and the component ``deploy/k8s/components/retention-cronjob`` switches to the
  CronJob (unsuspended, the Deployment removed), namespace and image as the rest.
- The Dockerfile makes the archive folder for the service user; every setting given is one
  ``RetentionSettings`` reads; every retention alert has a promtool unit test that fires it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from vigil_retention.settings import RetentionSettings
from vigil_runtime.testing.deployed_env import settings_from_deployed_env

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
K8S = ROOT / "deploy/k8s"
K8S_RETENTION = K8S / "base/retention.yaml"
K8S_OPTIMIZER = K8S / "base/optimizer.yaml"
COMPONENT = K8S / "components/retention-cronjob"
RULES = ROOT / "deploy/prometheus/rules/vigil.yml"
RULE_TESTS = ROOT / "deploy/prometheus/tests/retention_rules_test.yml"
ARCHIVE_DIR = "/var/lib/vigil/archive"
SNAPSHOT_DIR = "/var/lib/vigil/snapshots"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [doc] = [d for d in docs if d["kind"] == kind]
    return doc


def _compose_volumes(service: dict[str, Any]) -> dict[str, str]:
    """target path → named volume."""
    return {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}


def _deployment_pod() -> dict[str, Any]:
    pod: dict[str, Any] = _one(_docs(K8S_RETENTION), "Deployment")["spec"]["template"]["spec"]
    return pod


def _cronjob() -> dict[str, Any]:
    return _one(_docs(K8S / "base/retention-cronjob.yaml"), "CronJob")


def _claims(pod: dict[str, Any]) -> dict[str, str]:
    """mount path → PersistentVolumeClaim name."""
    volumes = {v["name"]: v for v in pod["volumes"]}
    [container] = pod["containers"]
    return {
        m["mountPath"]: volumes[m["name"]]["persistentVolumeClaim"]["claimName"]
        for m in container["volumeMounts"]
        if "persistentVolumeClaim" in volumes[m["name"]]
    }


def test_compose_archive_volume_and_the_optimizers_snapshots() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    retention, optimizer = compose["services"]["retention"], compose["services"]["optimizer"]
    env = retention["environment"]
    assert env["VIGIL_ARCHIVE_DIR"] == ARCHIVE_DIR
    assert env["VIGIL_SNAPSHOT_DIR"] == optimizer["environment"]["VIGIL_SNAPSHOT_DIR"]
    mounts = _compose_volumes(retention)
    assert mounts[SNAPSHOT_DIR] == _compose_volumes(optimizer)[SNAPSHOT_DIR]  # one volume
    assert mounts[ARCHIVE_DIR] in compose["volumes"]  # a named volume, not a host folder
    assert mounts[ARCHIVE_DIR] != mounts[SNAPSHOT_DIR]


def test_k8s_deployment_archive_pvc_snapshot_claim_and_node() -> None:
    docs = _docs(K8S_RETENTION)
    deployment = _one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = _deployment_pod()
    [container] = pod["containers"]
    assert container["command"] == ["vigil-retention"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (env["VIGIL_ARCHIVE_DIR"], env["VIGIL_SNAPSHOT_DIR"]) == (ARCHIVE_DIR, SNAPSHOT_DIR)
    pvc = _one(docs, "PersistentVolumeClaim")
    optimizer_pvc = _one(_docs(K8S_OPTIMIZER), "PersistentVolumeClaim")
    assert _claims(pod) == {
        ARCHIVE_DIR: pvc["metadata"]["name"],
        SNAPSHOT_DIR: optimizer_pvc["metadata"]["name"],
    }
    assert pod["securityContext"]["fsGroup"] == 10001
    optimizer = _one(_docs(K8S_OPTIMIZER), "Deployment")
    [term] = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"] == optimizer["spec"]["selector"]["matchLabels"]


def test_k8s_cronjob_runs_once_never_twice_with_the_deployments_pod() -> None:
    cronjob = _cronjob()
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["schedule"] == "*/5 * * * *"  # RetentionSettings.interval_s: 300
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    [container] = pod["containers"]
    assert container["command"] == ["vigil-retention", "--once"]
    deployment_pod = _deployment_pod()
    [looping] = deployment_pod["containers"]
    for key in ("envFrom", "env", "volumeMounts", "securityContext", "resources"):
        assert container[key] == looping[key], key
    for key in ("volumes", "affinity", "securityContext", "automountServiceAccountToken"):
        assert pod[key] == deployment_pod[key], key


def _kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed")
    done = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def _by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """vigil-retention's manifests by kind (the PVC is vigil-retention-archive)."""
    return {d["kind"]: d for d in docs if d["metadata"]["name"].startswith("vigil-retention")}


def _pod_image(workload: dict[str, Any]) -> str:
    spec = workload["spec"]
    template = (
        spec["jobTemplate"]["spec"]["template"] if "jobTemplate" in spec else spec["template"]
    )
    [container] = template["spec"]["containers"]
    return str(container["image"])


@pytest.mark.parametrize("overlay", ["base", "overlays/dev", "overlays/production"])
def test_kustomize_builds_loop_by_default_with_the_cronjob_suspended(overlay: str) -> None:
    built = _by_kind(_kustomize(K8S / overlay))
    kinds = {"Deployment", "CronJob", "PersistentVolumeClaim", "Service", "PodDisruptionBudget"}
    assert set(built) == kinds
    assert built["CronJob"]["spec"]["suspend"] is True
    assert _pod_image(built["CronJob"]) == _pod_image(built["Deployment"])
    assert built["CronJob"]["metadata"]["namespace"] == built["Deployment"]["metadata"]["namespace"]


def test_kustomize_component_switches_to_the_cronjob(tmp_path: Path) -> None:
    base = _by_kind(_kustomize(K8S / "base"))
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    relative = Path(os.path.relpath(K8S, overlay))
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": [str(relative / "base")],
                "components": [str(relative / COMPONENT.relative_to(K8S))],
            }
        )
    )
    built = _by_kind(_kustomize(overlay))
    assert set(built) == {"CronJob", "PersistentVolumeClaim"}
    cronjob = built["CronJob"]
    assert cronjob["spec"]["suspend"] is False
    assert cronjob["metadata"]["namespace"] == "vigil"
    assert _pod_image(cronjob) == _pod_image(base["Deployment"]) == "ghcr.io/vigil/vigil:0.1.0"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"


def test_dockerfile_makes_the_archive_folder_for_the_service_user() -> None:
    text = DOCKERFILE.read_text().replace("\\\n", "")
    [run] = [line for line in text.splitlines() if "useradd" in line]
    assert ARCHIVE_DIR in run.split("install -d -o vigil -g vigil -m 0750", 1)[1]


def _deployed_env() -> dict[str, dict[str, Any]]:
    compose_env = yaml.safe_load(COMPOSE.read_text())["services"]["retention"]["environment"]
    [container] = _deployment_pod()["containers"]
    [cron] = _cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return {
        "compose": compose_env,
        "k8s": {e["name"]: e.get("value") for e in container["env"]},
        "k8s-cronjob": {e["name"]: e.get("value") for e in cron["env"]},
    }


@pytest.mark.parametrize("deployment", ["compose", "k8s", "k8s-cronjob"])
def test_every_retention_setting_is_read(deployment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from_deployed_env(
        RetentionSettings, _deployed_env()[deployment], monkeypatch
    )
    assert (str(settings.archive_dir), str(settings.snapshot_dir)) == (ARCHIVE_DIR, SNAPSHOT_DIR)
    assert settings.http_port == 9105


def test_every_retention_alert_has_a_unit_test_that_fires_it() -> None:
    [group] = [
        g for g in yaml.safe_load(RULES.read_text())["groups"] if g["name"] == "vigil-retention"
    ]
    alerts = {rule["alert"] for rule in group["rules"]}
    assert len(alerts) >= 4
    fired = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert alerts <= fired
