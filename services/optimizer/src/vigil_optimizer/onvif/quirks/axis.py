"""Axis (manufacturer ``AXIS``).

- ``encoding_interval_zero_means_one``: every video encoder configuration in the Axis
  captures (firmware 5.55, ``GetProfiles`` and ``GetVideoEncoderConfigurations``) reports
  ``<tt:EncodingInterval>0</tt:EncodingInterval>``; ONVIF defines the interval as "encode
  every n-th frame", 1 being every frame, so the value is written back as 1.

Known and handled without a quirk: Axis answers ``GetSystemDateAndTime`` only with
authentication (as onvif-zeep-async's ``ONVIFCamera`` notes), so the clock query falls back to
an authenticated call (:mod:`vigil_optimizer.onvif.session`); its ``BitrateLimit`` 0 means no
limit and reads as ``None`` for every vendor; Axis firmware of the captured age has no
``GetServices`` answer captured and no Media 2: discovery falls back to ``GetCapabilities``.
"""

from __future__ import annotations

from .base import Quirks

__all__ = ["AXIS"]

AXIS = Quirks(vendor="axis", encoding_interval_zero_means_one=True)
