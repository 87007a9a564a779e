"""The alerter's deployment, checked against the code it deploys.

- deploy/alerter/alerter.yml, the example configuration, loads with the alerter's own loader
  and does what its comments say: camera_offline to on-call with an escalation, a camera
  offline inhibiting its other alerts (not another camera's), quiet hours at night, critical
  alerts to the HMAC-signed webhook as well (continue), an Apprise receiver and a rule.
- docker-compose.yml mounts that file where ``VIGIL_ALERTER_CONFIG`` points and passes the
  API token and the webhook's HMAC secret through (never as an empty value); the Kubernetes
  ConfigMap holds the same file, mounted where the Deployment's setting points, the secrets
  optional; Prometheus sends its alerts to the alerter's port.
- Every ``VIGIL_*`` setting either deployment gives the alerter is one ``AlerterSettings``
  reads, and every alerter metric is on the dashboard's Alerter row.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from vigil_alerter import metrics
from vigil_alerter.config.loader import load_config
from vigil_alerter.config.time_intervals import TimeIntervals
from vigil_alerter.routing.inhibit import Inhibitor
from vigil_alerter.routing.tree import RoutingTree
from vigil_alerter.settings import AlerterSettings
from vigil_runtime.testing.deployed_env import settings_from_deployed_env

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "deploy/alerter/alerter.yml"
COMPOSE = ROOT / "docker-compose.yml"
K8S_ALERTER = ROOT / "deploy/k8s/base/alerter.yaml"
PROMETHEUS = ROOT / "deploy/prometheus/prometheus.yml"
DASHBOARD = ROOT / "deploy/grafana/dashboards/platform.json"
HMAC_ENV = "WEBHOOK_HMAC_SECRET"


def _labels(alertname: str, camera: str, severity: str = "warning", **more: str) -> dict[str, str]:
    return {"alertname": alertname, "camera_id": camera, "severity": severity, **more}


def test_the_example_routes_as_its_comments_say() -> None:
    cfg = load_config(EXAMPLE)
    tree = RoutingTree.from_config(cfg)
    [offline] = tree.match(_labels("camera_offline", "lot-1", site="north"))
    assert offline.receiver == "oncall"
    assert [(s.after.total_seconds(), s.receiver) for s in offline.escalations] == [
        (900, "duty-manager")]  # fmt: skip
    night = _labels("zone_entry", "lot-1", "critical", zone="parking")
    assert [r.receiver for r in tree.match(night)] == ["security", "incident-webhook"]
    assert [r.receiver for r in tree.match(_labels("object_detected", "x", "info"))] == ["log"]
    assert [r.receiver for r in tree.match({"alertname": "VigilServiceDown"})] == ["platform"]
    [webhook] = cfg.receiver("incident-webhook").webhook_configs
    assert webhook.hmac_secret_env == HMAC_ENV
    assert cfg.receiver("oncall").apprise_configs
    assert [rule.name for rule in cfg.rules] == ["NightPerson"]


def test_an_offline_camera_mutes_its_own_other_alerts_only() -> None:
    inhibitor = Inhibitor.from_config(load_config(EXAMPLE))
    offline = _labels("camera_offline", "lot-1")
    assert inhibitor.inhibits(_labels("zone_entry", "lot-1"), [offline])
    assert not inhibitor.inhibits(_labels("zone_entry", "lot-2"), [offline])
    assert not inhibitor.inhibits(offline, [offline])


def test_quiet_hours_are_the_night_in_paris() -> None:
    intervals = TimeIntervals.from_config(load_config(EXAMPLE))
    assert intervals.contains("quiet-hours", datetime(2026, 1, 6, 22, 30, tzinfo=UTC))  # 23:30
    assert intervals.contains("quiet-hours", datetime(2026, 1, 6, 4, 0, tzinfo=UTC))  # 05:00
    assert not intervals.contains("quiet-hours", datetime(2026, 1, 6, 12, 0, tzinfo=UTC))


def _compose_alerter() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    alerter: dict[str, Any] = compose["services"]["alerter"]
    return alerter


def _k8s_docs() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(K8S_ALERTER.read_text()) if doc]


def _k8s_deployment() -> tuple[dict[str, Any], dict[str, Any]]:
    [deployment] = [d for d in _k8s_docs() if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    return pod, pod["containers"][0]


def test_compose_mounts_the_config_and_passes_the_secrets_through() -> None:
    alerter = _compose_alerter()
    env = alerter["environment"]
    config = PurePosixPath(env["VIGIL_ALERTER_CONFIG"])
    [mount] = alerter["volumes"]
    source, target, mode = mount.split(":")
    assert (PurePosixPath(target), mode) == (config.parent, "ro")
    assert (COMPOSE.parent / source / config.name).resolve() == EXAMPLE
    for name in ("VIGIL_ALERTER_API_TOKEN", HMAC_ENV):
        assert env[name] is None, f"{name}: pass it through, never as a (possibly empty) value"
    assert alerter["ports"] == [f"{env['VIGIL_HTTP_PORT']}:{env['VIGIL_HTTP_PORT']}"]


def test_k8s_config_map_is_the_example_mounted_where_the_setting_points() -> None:
    [config_map] = [d for d in _k8s_docs() if d["kind"] == "ConfigMap"]
    [(name, text)] = config_map["data"].items()
    assert text == EXAMPLE.read_text()
    pod, container = _k8s_deployment()
    env = {e["name"]: e for e in container["env"]}
    path = PurePosixPath(env["VIGIL_ALERTER_CONFIG"]["value"])
    assert path.name == name
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == str(path.parent)]
    assert "subPath" not in mount  # a subPath mount never sees an edit
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mount["name"]]["configMap"]["name"] == config_map["metadata"]["name"]
    for variable, key in (("VIGIL_ALERTER_API_TOKEN", "api-token"),
                          (HMAC_ENV, "webhook-hmac-secret")):  # fmt: skip
        assert env[variable]["valueFrom"]["secretKeyRef"] == {
            "name": "vigil-alerter", "key": key, "optional": True}  # fmt: skip


def test_prometheus_sends_its_alerts_to_the_alerter() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    [manager] = config["alerting"]["alertmanagers"]
    assert manager["api_version"] == "v2"
    port = _compose_alerter()["environment"]["VIGIL_HTTP_PORT"]
    assert manager["static_configs"] == [{"targets": [f"alerter:{port}"]}]


def _deployed_env() -> dict[str, dict[str, Any]]:
    compose_env = _compose_alerter()["environment"]
    _, container = _k8s_deployment()
    k8s_env = {e["name"]: e.get("value") for e in container["env"]}
    return {"compose": compose_env, "k8s": k8s_env}


@pytest.mark.parametrize("deployment", ["compose", "k8s"])
def test_every_alerter_setting_is_read(deployment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from_deployed_env(AlerterSettings, _deployed_env()[deployment], monkeypatch)
    assert settings.http_port == 9104
    assert settings.alerter_config is not None
    assert settings.alerter_config.name == EXAMPLE.name


def test_every_alerter_metric_is_on_the_dashboard() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    titles = [p["title"] for p in dashboard["panels"]]
    row = titles.index("Alerter")
    queries = " ".join(
        t["expr"] for p in dashboard["panels"][row + 1 :] for t in p.get("targets", [])
    )
    names = {
        getattr(metrics, attr)._name
        for attr in dir(metrics)
        if attr.isupper() and hasattr(getattr(metrics, attr), "_name")
    }
    assert len(names) >= 10
    pattern = r"\b{}(_total|_bucket|_count|_sum)?\b"
    assert not [n for n in sorted(names) if not re.search(pattern.format(n), queries)]
