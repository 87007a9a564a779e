"""Read the alerter's configuration file into :class:`AlerterConfig`, with errors that point at
the file's line and the field.

Contract:

- :func:`load_config` reads ``path``; ``None`` or a missing file gives
  :data:`DEFAULT_CONFIG_YAML` (every alert to the log receiver).
- :func:`parse_config` parses YAML text (PyYAML's safe loader, except that ``12:00`` stays
  text instead of YAML 1.1's base-60 integer, as Alertmanager reads it), validates it with the
  pydantic models, then checks what pydantic does not: every matcher parses, every regex
  (``match_re``, ``=~``) compiles, every ``match`` key, ``group_by`` and ``equal`` entry is a
  label name (no duplicates), every time interval value parses.
- Any problem raises :class:`ConfigError`, one line per problem:
  ``<source>:<line>: <field path>: <reason>`` (``alerter.yml:12: route.routes[0].group_wait:
  not a duration: 'soon' ...``); the line is the field's own, or its nearest enclosing one
  when the field is missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from vigil_alerter.config.matchers import MatcherError, compile_anchored, parse_matcher
from vigil_alerter.config.models import DEFAULT_CONFIG_YAML, AlerterConfig, RouteConfig
from vigil_alerter.config.time_intervals import TimeIntervalError, TimeIntervals
from vigil_runtime.logging import get_logger

__all__ = ["ConfigError", "ConfigIssue", "load_config", "parse_config"]

_log = get_logger(__name__)
Path_ = tuple[str | int, ...]
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_PATH_PREFIX = re.compile(r"^([A-Za-z_]\w*(?:\[\d+\]|\.[A-Za-z_]\w*)*): (.*)$", re.DOTALL)
_PATH_PART = re.compile(r"\[(\d+)\]|\.?([A-Za-z_]\w*)")


@dataclass(frozen=True)
class ConfigIssue:
    """One problem: where (line, field path) and why."""

    source: str
    line: int
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.path or '(file)'}: {self.reason}"


class ConfigError(Exception):
    """An invalid configuration; the message has one ``file:line: field: reason`` per issue."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        super().__init__("\n".join(str(issue) for issue in issues))
        self.issues = issues


class _Loader(yaml.SafeLoader):
    """The safe loader without YAML 1.1's base-60 numbers (``12:00`` stays a string)."""


_INT = r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
_FLOAT = (
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?"
    r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if not tag.endswith((":int", ":float"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(_INT), list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(_FLOAT), list("-+0123456789."))


def format_path(path: Path_) -> str:
    """``("route", "routes", 0, "group_wait")`` -> ``route.routes[0].group_wait``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _parse_path(text: str) -> Path_:
    return tuple(
        int(index) if index else name for index, name in _PATH_PART.findall(text) if index or name
    )


def _lines(node: yaml.Node, path: Path_, found: dict[Path_, int]) -> None:
    found.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, str(key.value))
            found[sub] = key.start_mark.line + 1
            _lines(value, sub, found)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), found)


class _Issues:
    def __init__(self, source: str, lines: Mapping[Path_, int]) -> None:
        self.source, self.lines, self.found = source, lines, list[ConfigIssue]()

    def add(self, path: Path_, reason: str) -> None:
        line = next(
            (self.lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in self.lines), 1
        )
        self.found.append(ConfigIssue(self.source, line, format_path(path), reason))


def _pydantic_issue(issues: _Issues, error: Mapping[str, Any]) -> None:
    path: Path_ = tuple(part for part in error["loc"] if isinstance(part, str | int))
    reason = str(error["msg"]).removeprefix("Value error, ")
    prefixed = _PATH_PREFIX.match(reason)
    if prefixed is not None and not path:
        path, reason = _parse_path(prefixed.group(1)), prefixed.group(2)
    issues.add(path, reason)


def _routes(route: RouteConfig, path: Path_) -> Iterator[tuple[Path_, RouteConfig]]:
    yield path, route
    for index, child in enumerate(route.routes):
        yield from _routes(child, (*path, "routes", index))


def _check_matchers(
    issues: _Issues,
    path: Path_,
    texts: list[str],
    match: Mapping[str, str],
    regexes: Mapping[str, str],
    prefix: str = "",
) -> None:
    for index, text in enumerate(texts):
        try:
            parse_matcher(text)
        except MatcherError as exc:
            issues.add((*path, f"{prefix}matchers", index), str(exc))
    for field, values in ((f"{prefix}match", match), (f"{prefix}match_re", regexes)):
        for name, value in values.items():
            if not _LABEL_NAME.match(name):
                issues.add((*path, field, name), f"invalid label name {name!r}")
            elif field.endswith("_re"):
                try:
                    compile_anchored(value)
                except MatcherError as exc:
                    issues.add((*path, field, name), str(exc))


def _check_label_names(issues: _Issues, path: Path_, names: list[str]) -> None:
    for index, name in enumerate(names):
        if name == "..." and path[-1] == "group_by":
            continue
        if not _LABEL_NAME.match(name):
            issues.add((*path, index), f"invalid label name {name!r}")
        elif name in names[:index]:
            issues.add((*path, index), f"duplicated label {name!r}")


def _semantic_issues(config: AlerterConfig, issues: _Issues) -> None:
    for path, route in _routes(config.route, ("route",)):
        _check_matchers(issues, path, route.matchers, route.match, route.match_re)
        _check_label_names(issues, (*path, "group_by"), route.group_by or [])
    for index, rule in enumerate(config.inhibit_rules):
        path = ("inhibit_rules", index)
        _check_matchers(
            issues, path, rule.source_matchers, rule.source_match, rule.source_match_re, "source_"
        )
        _check_matchers(
            issues, path, rule.target_matchers, rule.target_match, rule.target_match_re, "target_"
        )
        _check_label_names(issues, (*path, "equal"), rule.equal)
    try:
        TimeIntervals.from_config(config)
    except TimeIntervalError as exc:
        issues.add(exc.path, exc.reason)


def parse_config(text: str, source: str = "<config>") -> AlerterConfig:
    """Parse and validate configuration ``text``; ``source`` names it in errors."""
    lines: dict[Path_, int] = {}
    issues = _Issues(source, lines)
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigIssue(source, line, "", f"invalid YAML: {problem}")]) from exc
    if node is not None:
        _lines(node, (), lines)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue(source, 1, "", "the file must be a mapping")])
    try:
        config = AlerterConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            _pydantic_issue(issues, error)
        raise ConfigError(issues.found) from exc
    _semantic_issues(config, issues)
    if issues.found:
        raise ConfigError(issues.found)
    return config


def load_config(path: Path | None) -> AlerterConfig:
    """The configuration in ``path``; ``None`` or a missing file: the default configuration."""
    if path is None:
        return parse_config(DEFAULT_CONFIG_YAML, source="<default>")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        _log.warning("alerter config file missing, using the default", path=str(path))
        return parse_config(DEFAULT_CONFIG_YAML, source="<default>")
    return parse_config(text, source=str(path))
