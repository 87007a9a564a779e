"""Alertmanager's routing tree (0.25 ``dispatch/route.go``): which routes an alert goes to and
the aggregation group it joins there.

Contract:

- :meth:`RoutingTree.from_config` builds the tree from ``AlerterConfig.route``: a child
  inherits its parent's ``receiver``, ``group_by``, ``group_wait`` (root default 30s),
  ``group_interval`` (5m) and ``repeat_interval`` (4h) unless it sets them;
  ``mute_time_intervals``, ``active_time_intervals`` and ``escalations`` are the route's
  own (Alertmanager does not inherit time intervals either). ``match``/``match_re`` become
  ``=``/``=~`` matchers next to ``matchers``, all sorted (name, value, operator).
- :meth:`RoutingTree.match` is Alertmanager's ``Route.Match``: a route whose matchers match
  descends into its children in order; a matching child stops the search unless it has
  ``continue``; a matching route none of whose children matched is itself a result.
- ``Route.am_key`` is Alertmanager's ``Route.Key()``: ``{}`` for the root, the parent's key
  + ``/`` + the matchers (``{}/{severity="critical"}``). ``Route.key`` is the same unless
  siblings have equal matchers (the usual ``continue`` fan-out to two receivers): then each
  of them (and its subtree) gets its index among the siblings appended as in Alertmanager's
  ``Route.ID()`` (``{}/{severity="critical"}/0``), so that every route has its own
  aggregation groups (Alertmanager keeps them apart in memory; the alerter's
  ``alert_groups.group_key`` is a primary key). ``key`` is unique in the tree.
- ``Route.group_key(labels)`` is Alertmanager's ``key:{a="1", b="2"}`` over the group labels
  (the alert's labels named in ``group_by``, all of them for ``...``), sorted by name, values
  quoted as Go's ``%q``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from vigil_alerter.config.matchers import (
    Matcher,
    compile_anchored,
    matchers_match,
    matchers_string,
    parse_matcher,
    sort_matchers,
)
from vigil_alerter.config.models import AlerterConfig, EscalationStep, RouteConfig

__all__ = [
    "DEFAULT_GROUP_INTERVAL",
    "DEFAULT_GROUP_WAIT",
    "DEFAULT_REPEAT_INTERVAL",
    "Route",
    "RoutingTree",
    "config_matchers",
    "go_quote",
    "label_set_string",
]

DEFAULT_GROUP_WAIT: Final = timedelta(seconds=30)
DEFAULT_GROUP_INTERVAL: Final = timedelta(minutes=5)
DEFAULT_REPEAT_INTERVAL: Final = timedelta(hours=4)
_GO_ESCAPES: Final = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def go_quote(value: str) -> str:
    """Go's ``strconv.Quote`` (``%q``) for a label value."""
    out = ['"']
    for char in value:
        if char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char == " " or char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


def label_set_string(labels: Mapping[str, str]) -> str:
    """Prometheus' ``LabelSet.String()``: ``{a="1", b="2"}`` sorted by name."""
    return "{" + ", ".join(f"{name}={go_quote(labels[name])}" for name in sorted(labels)) + "}"


def config_matchers(
    matchers: list[str], match: Mapping[str, str], match_re: Mapping[str, str]
) -> list[Matcher]:
    """``matchers`` + ``match`` (``=``) + ``match_re`` (``=~``), sorted as Alertmanager does."""
    found = [parse_matcher(text) for text in matchers]
    found += [Matcher(name, "=", value) for name, value in match.items()]
    for name, value in match_re.items():
        compile_anchored(value)
        found.append(Matcher(name, "=~", value))
    return sort_matchers(found)


@dataclass(frozen=True)
class Route:
    """A node of the routing tree, with its inherited options resolved."""

    key: str
    """Unique in the tree: ``am_key``, with sibling indexes where siblings share matchers."""
    am_key: str
    """Alertmanager's ``Route.Key()``."""
    receiver: str
    group_by: tuple[str, ...] | None
    """Label names to group by; ``None``: every label (``...``)."""
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    escalations: tuple[EscalationStep, ...] = ()
    continue_: bool = False
    matchers: tuple[Matcher, ...] = ()
    children: tuple[Route, ...] = field(default=(), repr=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether this route's own matchers match ``labels``."""
        return matchers_match(self.matchers, labels)

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        """The alert's labels this route groups by (only those the alert has)."""
        if self.group_by is None:
            return dict(labels)
        return {name: labels[name] for name in self.group_by if name in labels}

    def group_key(self, labels: Mapping[str, str]) -> str:
        """Alertmanager's aggregation group key: ``<route key>:{a="1", b="2"}``."""
        return f"{self.key}:{label_set_string(self.group_labels(labels))}"

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """Alertmanager's ``Route.Match`` from this node (empty when it does not match)."""
        if not self.matches(labels):
            return []
        found: list[Route] = []
        for child in self.children:
            matched = child.match(labels)
            found.extend(matched)
            if matched and not child.continue_:
                break
        return found or [self]

    def walk(self) -> Iterator[Route]:
        """This route and its descendants, depth first, in configuration order."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class _Parent:
    key: str | None
    am_key: str | None
    receiver: str
    group_by: tuple[str, ...] | None
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta


def _group_by(value: list[str] | None, inherited: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if value is None:
        return inherited
    if value == ["..."]:
        return None
    return tuple(value)


def _own(cfg: RouteConfig) -> tuple[list[Matcher], str]:
    matchers = config_matchers(cfg.matchers, cfg.match, cfg.match_re)
    return matchers, matchers_string(matchers)


def _build(cfg: RouteConfig, parent: _Parent, suffix: str) -> Route:
    matchers, own = _own(cfg)
    am_key = own if parent.am_key is None else f"{parent.am_key}/{own}"
    key = own if parent.key is None else f"{parent.key}/{own}{suffix}"
    opts = _Parent(
        key=key,
        am_key=am_key,
        receiver=cfg.receiver or parent.receiver,
        group_by=_group_by(cfg.group_by, parent.group_by),
        group_wait=cfg.group_wait if cfg.group_wait is not None else parent.group_wait,
        group_interval=cfg.group_interval or parent.group_interval,
        repeat_interval=cfg.repeat_interval or parent.repeat_interval,
    )
    owns = [_own(child)[1] for child in cfg.routes]
    children = tuple(
        _build(child, opts, f"/{i}" if owns.count(owns[i]) > 1 else "")
        for i, child in enumerate(cfg.routes)
    )
    return Route(
        key=key,
        am_key=am_key,
        receiver=opts.receiver,
        group_by=opts.group_by,
        group_wait=opts.group_wait,
        group_interval=opts.group_interval,
        repeat_interval=opts.repeat_interval,
        mute_time_intervals=tuple(cfg.mute_time_intervals),
        active_time_intervals=tuple(cfg.active_time_intervals),
        escalations=tuple(cfg.escalations),
        continue_=cfg.continue_,
        matchers=tuple(matchers),
        children=children,
    )


class RoutingTree:
    """The routing tree of one configuration (immutable)."""

    def __init__(self, root: Route) -> None:
        self.root = root
        self._routes = list(root.walk())
        self._by_key = {route.key: route for route in self._routes}

    @classmethod
    def from_config(cls, cfg: AlerterConfig | RouteConfig) -> RoutingTree:
        """The tree of ``cfg.route`` (or of a root :class:`RouteConfig`)."""
        root_cfg = cfg.route if isinstance(cfg, AlerterConfig) else cfg
        defaults = _Parent(
            key=None,
            am_key=None,
            receiver=root_cfg.receiver or "",
            group_by=(),
            group_wait=DEFAULT_GROUP_WAIT,
            group_interval=DEFAULT_GROUP_INTERVAL,
            repeat_interval=DEFAULT_REPEAT_INTERVAL,
        )
        return cls(_build(root_cfg, defaults, ""))

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes an alert with ``labels`` goes to (at least the root)."""
        return self.root.match(labels)

    def route(self, key: str) -> Route | None:
        """The route whose ``key`` is ``key``."""
        return self._by_key.get(key)

    def routes(self) -> list[Route]:
        """Every route, depth first, in configuration order."""
        return list(self._routes)
