"""A zeep plugin that evens out firmware formatting before zeep reads an answer.

zeep converts leaf text by the schema type (``int("30.0")`` fails, and a failed value is
dropped). Camera firmware writes numbers and tokens loosely, so before parsing, every leaf
element's text and every attribute value is stripped of surrounding whitespace, and an
integral decimal (``30.0``, ``+25.000``) is written as the integer (``30``, ``25``), which
reads correctly as ``xs:int`` and as ``xs:float`` alike. Nothing else changes: namespaces and
prefixes are zeep's business (it resolves by namespace, never by prefix).
"""

from __future__ import annotations

import re
from typing import Any

from zeep import Plugin

__all__ = ["TolerantAnswers", "add_to"]

_INTEGRAL = re.compile(r"^\+?(-?\d+)\.0*$")


def _even(value: str) -> str:
    stripped = value.strip()
    match = _INTEGRAL.match(stripped)
    return match.group(1) if match else stripped


class TolerantAnswers(Plugin):
    """See the module docstring."""

    def ingress(self, envelope: Any, http_headers: Any, operation: Any) -> tuple[Any, Any]:
        """Even out leaf text and attribute values of the whole answer."""
        for element in envelope.iter():
            if not isinstance(element.tag, str):
                continue  # comments, processing instructions
            for name, value in element.attrib.items():
                evened = _even(value)
                if evened != value:
                    element.set(name, evened)
            if len(element) == 0 and element.text is not None:
                element.text = _even(element.text)
        return envelope, http_headers


_PLUGIN = TolerantAnswers()


def add_to(service: Any) -> Any:
    """Install the plugin on an onvif-zeep-async service's zeep clients (once); return it."""
    for client in (service.zeep_client, service.zeep_client_authless):
        if client is not None and not any(isinstance(p, TolerantAnswers) for p in client.plugins):
            client.plugins.append(_PLUGIN)
    return service
