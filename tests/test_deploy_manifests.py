"""Static checks of the deployment files: they parse, reference what exists, and hold the
production rules (probes, resources, non-root read-only containers), and every Vigil metric
that a dashboard or alert rule queries is defined somewhere in the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
CODE_DIRS = ("libs", "services", "cli", "tools")


def _yaml_docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _all_manifests() -> list[tuple[Path, dict[str, Any]]]:
    docs: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted((DEPLOY / "k8s").rglob("*.yaml")):
        docs.extend((path, doc) for doc in _yaml_docs(path))
    return docs


def test_every_yaml_file_parses() -> None:
    files = [*DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.yaml"), ROOT / "docker-compose.yml"]
    assert len(files) > 10
    for path in files:
        _yaml_docs(path)


def test_kustomizations_reference_existing_files() -> None:
    for path in (DEPLOY / "k8s").rglob("kustomization.yaml"):
        spec = _yaml_docs(path)[0]
        for ref in spec.get("resources", []):
            assert (path.parent / ref).exists(), f"{path}: resource {ref} does not exist"
    dashboards = _yaml_docs(DEPLOY / "grafana/dashboards/kustomization.yaml")[0]
    for generator in dashboards["configMapGenerator"]:
        for name in generator["files"]:
            assert (DEPLOY / "grafana/dashboards" / name.split("=")[-1]).exists()


def _pod_specs() -> list[tuple[str, dict[str, Any]]]:
    specs: list[tuple[str, dict[str, Any]]] = []
    for path, doc in _all_manifests():
        if doc.get("kind") in ("Deployment", "StatefulSet", "Job"):
            specs.append(
                (f"{path.name}:{doc['metadata']['name']}", doc["spec"]["template"]["spec"])
            )
        elif doc.get("kind") == "CronJob":
            template = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            specs.append((f"{path.name}:{doc['metadata']['name']}", template))
    return specs


def test_workloads_run_non_root_and_read_only() -> None:
    specs = _pod_specs()
    assert len(specs) >= 6
    for name, spec in specs:
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name


def test_deployments_have_probes_resources_and_budgets() -> None:
    deployments = [
        doc for _, doc in _all_manifests() if doc.get("kind") in ("Deployment", "StatefulSet")
    ]
    budgets = {
        doc["metadata"]["name"]
        for _, doc in _all_manifests()
        if doc.get("kind") == "PodDisruptionBudget"
    }
    assert {d["metadata"]["name"] for d in deployments} <= budgets
    for deployment in deployments:
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert {"requests", "limits"} <= set(container["resources"])


def _queried_metrics() -> set[str]:
    dashboards = [p.read_text() for p in (DEPLOY / "grafana/dashboards").glob("*.json")]
    for text in dashboards:
        json.loads(text)
    texts = dashboards + [p.read_text() for p in (DEPLOY / "prometheus/rules").glob("*.yml")]
    names = set()
    for text in texts:
        names |= set(re.findall(r"\b(vigil_[a-z0-9_]+)", text))
    return {re.sub(r"_(bucket|sum|count|total|created)$", "", n) for n in names}


@pytest.mark.parametrize("metric", sorted(_queried_metrics()))
def test_queried_metric_is_defined_in_code(metric: str) -> None:
    sources = "\n".join(
        path.read_text()
        for directory in CODE_DIRS
        for path in (ROOT / directory).rglob("*.py")
        if "/tests/" not in str(path)
    )
    assert f'"{metric}' in sources, f"{metric} is queried by a dashboard/rule but never defined"
