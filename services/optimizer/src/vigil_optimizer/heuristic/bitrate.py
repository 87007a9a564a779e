"""The bit rate a stream needs: the reference table, interpolated, and H.265's saving.

:func:`needed_kbps` is the H.264 bit rate for a resolution and frame rate from the table of
issue 9 (1080p: 2000/3000/4000 kbit/s at 10/15/30 fps; 720p: 1000/2000/2000), linear in the
frame rate between the table's rates (proportional below 10 fps and above 30 fps), linear in
the pixel count between 720p and 1080p and proportional to it outside. H.265 needs about half
(Ohm et al., IEEE TCSVT 22(12), 2012). A JPEG/MJPEG stream has no bit rate target (None).
Sources and numbers: docs/optimizer-rules.md.
"""

from __future__ import annotations

from vigil_schema.camera_settings import Resolution

__all__ = ["HD_PIXELS", "needed_kbps"]

HD_PIXELS = 1280 * 720
FULL_HD_PIXELS = 1920 * 1080
_FPS = (10.0, 15.0, 30.0)
_KBPS_1080 = (2000.0, 3000.0, 4000.0)
_KBPS_720 = (1000.0, 2000.0, 2000.0)
H265_FACTOR = 0.5


def _at_fps(table: tuple[float, ...], fps: float) -> float:
    if fps <= _FPS[0]:
        return table[0] * fps / _FPS[0]
    if fps >= _FPS[-1]:
        return table[-1] * fps / _FPS[-1]
    i = 0 if fps <= _FPS[1] else 1
    f0, f1, k0, k1 = _FPS[i], _FPS[i + 1], table[i], table[i + 1]
    return k0 + (k1 - k0) * (fps - f0) / (f1 - f0)


def needed_kbps(resolution: Resolution, fps: float, encoding: str | None = "H264") -> int | None:
    """The bit rate (kbit/s) the table gives; None for JPEG/MJPEG or a non-positive fps."""
    codec = (encoding or "H264").upper()
    if codec in {"JPEG", "MJPEG"} or not fps > 0:
        return None
    hd, full = _at_fps(_KBPS_720, fps), _at_fps(_KBPS_1080, fps)
    pixels = resolution.pixels
    if pixels <= HD_PIXELS:
        kbps = hd * pixels / HD_PIXELS
    elif pixels >= FULL_HD_PIXELS:
        kbps = full * pixels / FULL_HD_PIXELS
    else:
        kbps = hd + (full - hd) * (pixels - HD_PIXELS) / (FULL_HD_PIXELS - HD_PIXELS)
    if codec in {"H265", "HEVC"}:
        kbps *= H265_FACTOR
    return max(1, round(kbps))
