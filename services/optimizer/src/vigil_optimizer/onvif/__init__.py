"""The optimizer's ONVIF client (onvif-zeep-async 4.3 on zeep), a CameraLink.

- :class:`OnvifCameraLink` (:mod:`.link`): ``async with OnvifCameraLink.connect(host, port,
  user, password, timeout_s=...) as link``; ``inspect`` / ``read_settings`` /
  ``write_settings`` / ``close`` as :class:`~vigil_optimizer.camera_link.CameraLink` defines;
- :func:`inspection_json` (:mod:`.report`): the JSON ``vigil optimize inspect`` prints.

Inside: :mod:`.session` (clock offset, service discovery, the library's service factory
with Media 2 added), :mod:`.media2_wsdl` (the official Media 2 WSDL shipped unmodified in
``wsdl/`` and resolved against the library's ver10 schema), :mod:`.calls` (timeouts,
retries, metrics, errors), :mod:`.tolerant` (firmware formatting), :mod:`.media` /
:mod:`.imaging_access` (the services' operations), :mod:`.encoders` / :mod:`.stream` /
:mod:`.imaging` / :mod:`.values` (answers to and from Vigil's models), :mod:`.quirks` (per
vendor), :mod:`.metrics`.
See docs/optimizer-onvif.md.
"""

from __future__ import annotations

from .link import OnvifCameraLink
from .report import inspection_json

__all__ = ["OnvifCameraLink", "inspection_json"]
