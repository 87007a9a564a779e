"""Per-vendor quirks, all in this folder: one module per vendor, chosen by manufacturer.

:func:`quirks_for` maps the ``Manufacturer`` of ``GetDeviceInformation`` to that vendor's
:class:`Quirks` (``generic`` when none matches). Everything vendor-specific the client does is
a field or method of :class:`Quirks`; the rest of the client is vendor-neutral. Each vendor
module says what its quirks are and why (the captures in ``../shared/fixtures/onvif`` or
documented vendor behaviour).
"""

from __future__ import annotations

from .axis import AXIS
from .base import GENERIC, Quirks
from .hikvision import HIKVISION

__all__ = ["GENERIC", "Quirks", "quirks_for"]

_BY_VENDOR: tuple[tuple[tuple[str, ...], Quirks], ...] = (
    (("axis",), AXIS),
    (("hikvision", "hik-vision", "hikvision digital technology"), HIKVISION),
)


def quirks_for(manufacturer: str | None) -> Quirks:
    """The quirks of the camera whose ``GetDeviceInformation`` names ``manufacturer``."""
    name = (manufacturer or "").strip().lower()
    for prefixes, quirks in _BY_VENDOR:
        if any(name.startswith(prefix) for prefix in prefixes):
            return quirks
    return GENERIC
