"""Hikvision (manufacturer ``HIKVISION``).

No behaviour beyond the generic one is needed for the captured firmware; what looks
vendor-specific in the captures is handled for every camera:

- the WS-Security ``Created`` timestamp must be in Zulu form (Hikvision rejects ``+00:00``):
  onvif-zeep-async's ``UsernameDigestTokenDtDiff`` already writes Zulu;
- the captured camera's clock is set manually and years off (``DateTimeType`` Manual, UTC
  2018-02-27): the generic clock-skew adjustment (:mod:`vigil_optimizer.onvif.session`);
- the video source configuration token (``VideoSourceToken``) differs from the video source
  token (``VideoSource_1``): the imaging service is always addressed with ``SourceToken``;
- ``Quality`` is sent as decimal text (``4.000000``): numbers are read tolerantly;
- its XAddrs name the camera's LAN address (``10.10.1.60``): XAddrs are rewritten to the
  address Vigil connected to (``rewrite_xaddrs``).

The record exists so that a Hikvision-only adjustment has one place to go.
"""

from __future__ import annotations

from .base import Quirks

__all__ = ["HIKVISION"]

HIKVISION = Quirks(vendor="hikvision")
