"""Query parameters of the Alertmanager API, parsed as Alertmanager parses them.

Each raises :func:`bad_request` (400, a plain-text reason: the spec's ``BadRequest`` is a
string) on bad input: a boolean that is not ``true``/``false``, a ``filter`` that is not a
matcher expression (``alertname="x"``, ``{a=~"b.*",c!="d"}``), a ``receiver`` that is not a
regular expression (anchored, as Alertmanager anchors it).
"""

from __future__ import annotations

import re

from aiohttp import web

from vigil_alerter.config.matchers import Matcher, parse_matchers

__all__ = ["bad_request", "flag", "label_matchers", "receiver_regex"]

_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def bad_request(reason: str) -> web.HTTPBadRequest:
    """A 400 with ``reason`` as its JSON-string body (the spec's ``BadRequest``)."""
    return web.HTTPBadRequest(text=web.json_response(reason).text, content_type="application/json")


def flag(request: web.Request, name: str, default: bool = True) -> bool:
    """A boolean query parameter."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise bad_request(f"{name}: not a boolean: {raw!r}")


def label_matchers(request: web.Request, name: str) -> list[Matcher]:
    """Every matcher of the repeated matcher-expression parameter ``name``."""
    found: list[Matcher] = []
    for text in request.query.getall(name, []):
        try:
            found.extend(parse_matchers(text))
        except ValueError as exc:
            raise bad_request(f"{name}: bad matcher {text!r}: {exc}") from exc
    return found


def receiver_regex(request: web.Request) -> re.Pattern[str] | None:
    """The ``receiver`` regex, anchored; None when absent."""
    raw = request.query.get("receiver")
    if raw is None:
        return None
    try:
        return re.compile(f"(?:{raw})")
    except (re.error, RecursionError, OverflowError) as exc:
        raise bad_request(f"receiver: not a regular expression: {exc}") from exc
