"""Libraries whose private internals Vigil overrides are pinned exactly in the package
metadata (not only in requirements/constraints.txt, which a plain ``pip install`` of a
wheel does not see), and the pin is the version the constraints file tests."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

OVERRIDDEN = [
    ("services/ingest/pyproject.toml", "paho-mqtt"),  # vigil_ingest.mqtt_client, mqtt_link
    ("libs/runtime/pyproject.toml", "redis"),  # vigil_runtime.redis_client
]


def _constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements/constraints.txt").read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep and not line.startswith("#"):
            pins[name.strip().lower()] = version.strip()
    return pins


def _requirement(pyproject: str, package: str) -> str:
    data = tomllib.loads((ROOT / pyproject).read_text())
    for requirement in data["project"]["dependencies"]:
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
        if name.lower() == package:
            return str(requirement)
    raise AssertionError(f"{pyproject} does not depend on {package}")


@pytest.mark.parametrize(("pyproject", "package"), OVERRIDDEN)
def test_overridden_library_is_pinned_to_the_tested_version(pyproject: str, package: str) -> None:
    requirement = _requirement(pyproject, package)
    match = re.search(r"==\s*([^\s,;]+)$", requirement)
    assert match, f"{pyproject}: {requirement!r} must be an exact (==) pin"
    assert match.group(1) == _constraints()[package], f"{pyproject} and constraints.txt differ"
