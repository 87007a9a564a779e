"""Alertmanager's label matchers: parsing, matching, and the API's ``{name, value, isRegex,
isEqual}`` form.

Contract (Alertmanager 0.25, ``pkg/labels``):

- :func:`parse_matcher` reads one ``name op value`` with ``op`` one of ``=``, ``!=``, ``=~``,
  ``!~``; the value may be double-quoted, with OpenMetrics escapes (``\\"``, ``\\n``,
  ``\\\\``); a stray backslash is literal; an unescaped inner ``"`` is an error.
- :func:`parse_matchers` reads a comma-separated list, optionally wrapped in ``{...}``
  (commas inside quotes do not separate).
- A regex matcher is anchored: its value ``v`` is compiled as ``^(?:v)$`` and must match the
  whole label value. A missing label matches as the empty string.
- ``str(matcher)`` is Alertmanager's ``name op "escaped value"``; :func:`matchers_string`
  is its ``{a="1",b=~"x"}`` list form (no spaces), used in route keys.

Errors are :class:`MatcherError` (a ``ValueError``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

__all__ = [
    "Matcher",
    "MatcherError",
    "Op",
    "matchers_match",
    "matchers_string",
    "parse_matcher",
    "parse_matchers",
    "sort_matchers",
]

Op = Literal["=", "!=", "=~", "!~"]
_OPS: tuple[Op, ...] = ("=", "!=", "=~", "!~")
"""In Alertmanager's ``MatchType`` order (used to sort matchers)."""
_WS = r"[ \t\n\f\r]*"  # Go's \s
_SYNTAX = re.compile(
    rf"^{_WS}([a-zA-Z_:][a-zA-Z0-9_:]*){_WS}(=~|=|!=|!~){_WS}(.*?){_WS}\Z", re.DOTALL
)
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class MatcherError(ValueError):
    """A matcher that does not parse, or whose regex does not compile."""


def compile_anchored(pattern: str) -> re.Pattern[str]:
    """``pattern`` anchored as Alertmanager does (``^(?:pattern)$``), or :class:`MatcherError`."""
    try:
        re.compile(pattern)  # errors with positions in the pattern as written
        return re.compile(f"^(?:{pattern})$")
    except re.error as exc:
        raise MatcherError(f"invalid regular expression {pattern!r}: {exc}") from exc


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass(frozen=True)
class Matcher:
    """One label matcher; ``matches`` treats a missing label as ``""``."""

    name: str
    op: Op
    value: str
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise MatcherError(f"unknown matcher operator {self.op!r}")
        if self.op in ("=~", "!~"):
            object.__setattr__(self, "_regex", compile_anchored(self.value))

    @property
    def is_regex(self) -> bool:
        """``=~`` or ``!~``."""
        return self.op in ("=~", "!~")

    @property
    def is_equal(self) -> bool:
        """``=`` or ``=~`` (the API's ``isEqual``)."""
        return self.op in ("=", "=~")

    def matches_value(self, value: str) -> bool:
        """Whether a label value (``""`` when absent) satisfies this matcher."""
        if self._regex is not None:
            found = self._regex.fullmatch(value) is not None
        else:
            found = value == self.value
        return found if self.is_equal else not found

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this matcher (a missing label is ``""``)."""
        return self.matches_value(labels.get(self.name, ""))

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{_escape(self.value)}"'

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Matcher:
        """From the API's ``{name, value, isRegex, isEqual}`` (``isEqual`` defaults to true)."""
        try:
            name, value = data["name"], data["value"]
        except KeyError as exc:
            raise MatcherError(f"matcher needs {exc.args[0]!r}") from exc
        if not isinstance(name, str) or not _LABEL_NAME.match(name):
            raise MatcherError(f"invalid label name {name!r}")
        if not isinstance(value, str):
            raise MatcherError(f"matcher value must be a string, not {value!r}")
        is_regex = bool(data.get("isRegex", False))
        is_equal = data.get("isEqual", True)
        is_equal = True if is_equal is None else bool(is_equal)
        op: Op = ("=~" if is_equal else "!~") if is_regex else ("=" if is_equal else "!=")
        return cls(name, op, value)

    def to_api(self) -> dict[str, Any]:
        """The API's ``{name, value, isRegex, isEqual}``."""
        return {
            "name": self.name,
            "value": self.value,
            "isRegex": self.is_regex,
            "isEqual": self.is_equal,
        }


def _unescape(raw: str, original: str) -> str:
    quoted = raw.startswith('"')
    if quoted:
        raw = raw[1:]
    out: list[str] = []
    escaped = False
    last = len(raw) - 1
    for i, char in enumerate(raw):
        if escaped:
            escaped = False
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(char, "\\" + char))
        elif char == "\\":
            if i < last:
                escaped = True
            else:
                out.append("\\")
        elif char == '"':
            if not quoted or i < last:
                raise MatcherError(f"matcher value contains unescaped double quote: {original}")
            quoted = False
        else:
            out.append(char)
    if quoted:
        raise MatcherError(f"matcher value contains unescaped double quote: {original}")
    return "".join(out)


def parse_matcher(text: str) -> Matcher:
    """One matcher in Alertmanager's syntax: ``name="value"``, ``name=~re``, ``name!=v``..."""
    found = _SYNTAX.match(text)
    if found is None:
        raise MatcherError(f"bad matcher format: {text}")
    name, op, raw = found.group(1), cast(Op, found.group(2)), found.group(3)
    return Matcher(name, op, _unescape(raw, raw))


def _split(text: str) -> list[str]:
    tokens: list[str] = []
    token: list[str] = []
    inside = escaped = False
    for char in text:
        if char == "," and not inside:
            tokens.append("".join(token))
            token = []
            continue
        if char == '"':
            if escaped:
                escaped = False
            else:
                inside = not inside
        elif char == "\\":
            escaped = not escaped
        else:
            escaped = False
        token.append(char)
    last = "".join(token).strip()
    if last:
        tokens.append(last)
    return tokens


def parse_matchers(text: str) -> list[Matcher]:
    """A comma-separated list of matchers, optionally in ``{...}``; ``""`` and ``{}`` are []."""
    text = text.removeprefix("{").removesuffix("}")
    return [parse_matcher(token) for token in _split(text)]


def matchers_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether every matcher matches ``labels`` (true for no matchers)."""
    return all(m.matches(labels) for m in matchers)


def sort_matchers(matchers: Iterable[Matcher]) -> list[Matcher]:
    """Alertmanager's ``Matchers`` order: by name, then value, then operator."""
    return sorted(matchers, key=lambda m: (m.name, m.value, _OPS.index(m.op)))


def matchers_string(matchers: Iterable[Matcher]) -> str:
    """Alertmanager's ``Matchers.String()``: ``{a="1",b=~"x"}``."""
    return "{" + ",".join(str(m) for m in matchers) + "}"
