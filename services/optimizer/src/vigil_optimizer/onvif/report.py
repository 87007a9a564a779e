"""``inspection_json``: the JSON ``vigil optimize inspect`` prints for one camera.

Stable keys (camelCase like the schema's JSON), every profile field present (``null`` when the
camera did not state it), so that scripts can rely on the shape::

    {"device": {...}, "mediaVersion": 1|2, "services": {...}, "videoSourceToken": ...,
     "profiles": [{"token", "name", "encoding", "resolution": {"width", "height"}, "fps",
                   "bitrateKbps", "gop", "quality", "h264Profile", "videoSourceToken",
                   "encoderToken", "options": {...} | null}],
     "imaging": {...} | null, "snapshotUri": ..., "current": {...}, "missing": [...],
     "inspectedAt": ...}
"""

from __future__ import annotations

from typing import Any

from vigil_optimizer.camera_link import Inspection
from vigil_schema.camera_settings import ProfileInfo

__all__ = ["inspection_json"]

_PROFILE_KEYS = (
    "token",
    "name",
    "encoding",
    "resolution",
    "fps",
    "bitrateKbps",
    "gop",
    "quality",
    "h264Profile",
    "videoSourceToken",
    "encoderToken",
    "options",
)


def _profile(profile: ProfileInfo) -> dict[str, Any]:
    dumped = profile.model_dump(mode="json", by_alias=True)
    return {key: dumped.get(key) for key in _PROFILE_KEYS}


def inspection_json(inspection: Inspection) -> dict[str, Any]:
    """The printable JSON of an inspection (see the module docstring)."""
    caps = inspection.capabilities
    return {
        "device": caps.device.model_dump(mode="json", by_alias=True),
        "mediaVersion": caps.media_version,
        "services": dict(caps.services),
        "videoSourceToken": caps.video_source_token,
        "profiles": [_profile(p) for p in caps.profiles],
        "imaging": caps.imaging.to_json() if caps.imaging else None,
        "snapshotUri": caps.snapshot_uri,
        "current": inspection.current.to_json(),
        "missing": list(caps.missing),
        "inspectedAt": caps.inspected_at.isoformat() if caps.inspected_at else None,
    }
