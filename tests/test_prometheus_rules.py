"""The alert rules through Prometheus's own tool: `promtool check rules` on both copies
(compose's rules file and the Kubernetes PrometheusRule), the two kept identical, and
`promtool test rules` on deploy/prometheus/tests/ (each alert fires on the series it is meant
for, and not on its neighbours). `.ci/run` installs promtool (Debian's `prometheus`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy/prometheus/rules/vigil.yml"
K8S_RULES = ROOT / "deploy/k8s/base/prometheusrule.yaml"
RULE_TESTS = sorted((ROOT / "deploy/prometheus/tests").glob("*.yml"))

pytestmark = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)"
)


def _promtool(*args: str) -> None:
    done = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def _k8s_groups() -> Any:
    [rule] = [doc for doc in yaml.safe_load_all(K8S_RULES.read_text()) if doc]
    return rule["spec"]["groups"]


def test_both_rule_files_pass_promtool_check(tmp_path: Path) -> None:
    k8s = tmp_path / "prometheusrule-groups.yml"
    k8s.write_text(yaml.safe_dump({"groups": _k8s_groups()}))
    _promtool("check", "rules", str(RULES), str(k8s))


def test_the_kubernetes_rules_are_the_compose_rules() -> None:
    assert _k8s_groups() == yaml.safe_load(RULES.read_text())["groups"]


@pytest.mark.parametrize("unit", RULE_TESTS, ids=lambda path: path.name)
def test_alert_rule_unit_tests_pass(unit: Path) -> None:
    _promtool("test", "rules", str(unit))
