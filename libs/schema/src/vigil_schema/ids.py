"""Camera identifiers.

A camera id is chosen by the operator, appears in MQTT topics, Redis keys and partition-free
indexes, so it is restricted to lower-case letters, digits, ``_`` and ``-`` (1 to 64
characters, starting with a letter or digit). The same pattern is a CHECK on ``cameras.id``.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator

CAMERA_ID_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_CAMERA_ID_RE: Final = re.compile(CAMERA_ID_PATTERN)


def validate_camera_id(value: str) -> str:
    """Return ``value`` unchanged if it is a valid camera id, else raise ``ValueError``."""
    if not isinstance(value, str):
        raise ValueError(f"camera id must be a string, got {type(value).__name__}")
    if _CAMERA_ID_RE.fullmatch(value) is None:
        raise ValueError(
            f"invalid camera id {value!r}: use 1-64 characters from a-z, 0-9, '_' and '-', "
            "starting with a letter or digit (pattern "
            f"{CAMERA_ID_PATTERN})"
        )
    return value


CameraId = Annotated[str, AfterValidator(validate_camera_id)]
"""A ``str`` that pydantic validates with :func:`validate_camera_id`."""
