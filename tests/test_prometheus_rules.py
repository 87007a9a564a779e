"""The alert rules through Prometheus's own tool: `promtool check rules` on both copies
(compose's rules file and the Kubernetes PrometheusRule), the two kept identical, and
`promtool test rules` on deploy/prometheus/tests/ (each alert fires on the series it is meant
for, and not on its neighbours), and every Grafana dashboard query parsed as PromQL by
`promtool check rules` (Grafana's variables filled in). `.ci/run` installs promtool (Debian's
`prometheus`)."""

from __future__ import annotations

import json
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


DASHBOARDS = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$camera": ".*"}


def _dashboard_queries(path: Path) -> list[str]:
    """Every PromQL query of a dashboard (panels, rows' panels, query variables' excepted:
    label_values() is Grafana's, not PromQL), with Grafana's variables filled in."""
    dashboard = json.loads(path.read_text())
    panels = [*dashboard["panels"]]
    panels += [inner for panel in dashboard["panels"] for inner in panel.get("panels", [])]
    queries = []
    for panel in panels:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            queries.append(expr)
    return queries


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_queries_are_valid_promql(dashboard: Path, tmp_path: Path) -> None:
    queries = _dashboard_queries(dashboard)
    assert queries
    assert not [q for q in queries if "$" in q], "a Grafana variable is not filled in"
    rules = [{"record": f"vigil:dashboard_query_{i}", "expr": q} for i, q in enumerate(queries)]
    check = tmp_path / "dashboard-queries.yml"
    check.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    _promtool("check", "rules", str(check))
