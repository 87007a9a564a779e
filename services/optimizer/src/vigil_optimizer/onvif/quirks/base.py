"""The quirks record and the generic (standard ONVIF) behaviour.

A :class:`Quirks` holds every vendor-dependent choice of the client. ``GENERIC`` is plain
ONVIF: nothing adjusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["GENERIC", "Quirks"]


@dataclass(frozen=True)
class Quirks:
    """Vendor-dependent behaviour; see the vendor modules for the values and reasons."""

    vendor: str
    encoding_interval_zero_means_one: bool = False
    """The camera reports ``RateControl/EncodingInterval`` 0 where ONVIF's "every frame" is
    1; written back as 1 so that the Set request carries a valid interval."""

    def prepare_rate_control(self, rate_control: dict[str, Any]) -> None:
        """Adjust a Media 1 ``RateControl`` (plain dict) before it is written back."""
        if self.encoding_interval_zero_means_one and rate_control.get("EncodingInterval") == 0:
            rate_control["EncodingInterval"] = 1


GENERIC = Quirks(vendor="generic")
