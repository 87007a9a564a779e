"""What a simulated fleet does: :class:`FleetConfig` and the camera ids it derives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from vigil_schema.ids import validate_camera_id

Protocol = Literal["v5", "v311"]

LWT_DEFAULT_MAX_CAMERAS: Final = 32
"""Up to this many cameras, each camera gets its own connection (and Last Will) by default."""

DEFAULT_URL: Final = "mqtt://127.0.0.1:1883"


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """Everything a :class:`~vigil_tools.camsim.fleet.Fleet` run needs.

    Rates are per camera: ``fps`` events per second (so ``fps / batch`` event messages per
    second), one health sample every ``health_interval_s`` and ``frame_fps`` JPEG frames per
    second. ``fps <= 0`` publishes events as fast as the publish window allows. The run ends
    after ``duration_s`` seconds or once ``count`` event messages went out, whichever comes
    first (at least one of the two must be set).
    """

    url: str = DEFAULT_URL
    cameras: int = 4
    camera_prefix: str = "cam-"
    first_index: int = 1
    fps: float = 5.0
    batch: int = 1
    bad_ratio: float = 0.0
    duration_s: float | None = 10.0
    count: int | None = None
    health_interval_s: float = 10.0
    frame_fps: float = 0.0
    resolution: tuple[int, int] = (1280, 720)
    frame_pool: int = 12
    jpeg_quality: int = 80
    qos: int = 1
    window: int = 100
    clients: int | None = None
    lwt: bool | None = None
    protocol: Protocol = "v5"
    client_id_prefix: str = "camsim"
    keepalive_s: int = 30
    drain_timeout_s: float = 15.0
    connect_timeout_s: float = 10.0
    seed: int | None = None
    degraded: int = 0
    """The first ``degraded`` cameras report a dark, noisy picture in their health samples
    (what the optimizer's degraded-health trigger reacts to)."""

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("; ".join(problems))
        for camera_id in self.camera_ids():
            validate_camera_id(camera_id)

    def _problems(self) -> list[str]:
        checks = [
            (self.cameras >= 1, "cameras must be at least 1"),
            (0 <= self.degraded <= self.cameras, "degraded must be between 0 and cameras"),
            (self.first_index >= 0, "first_index must be >= 0"),
            (1 <= self.batch <= 1000, "batch must be between 1 and 1000"),
            (0.0 <= self.bad_ratio <= 1.0, "bad_ratio must be between 0 and 1"),
            (self.duration_s is not None or self.count is not None, "set a duration or a count"),
            (self.duration_s is None or self.duration_s > 0, "duration must be > 0"),
            (self.count is None or self.count >= 0, "count must be >= 0"),
            (self.health_interval_s >= 0, "health_interval must be >= 0 (0 = off)"),
            (self.frame_fps >= 0, "frame_fps must be >= 0 (0 = off)"),
            (min(self.resolution) >= 16, "resolution must be at least 16x16"),
            (self.frame_pool >= 1, "frame_pool must be at least 1"),
            (1 <= self.jpeg_quality <= 95, "jpeg_quality must be between 1 and 95"),
            (self.qos in (0, 1, 2), "qos must be 0, 1 or 2"),
            (self.window >= 1, "window must be at least 1"),
            (self.clients is None or self.clients >= 1, "clients must be at least 1"),
            (
                not (self.frame_fps > 0 and self.protocol == "v311"),
                "frames need MQTT v5 user properties: frame_fps > 0 requires protocol v5",
            ),
            (
                not (self.use_lwt and self.clients not in (None, self.cameras)),
                "a Last Will per camera needs one connection per camera: use --no-lwt with "
                "--clients",
            ),
        ]
        return [message for ok, message in checks if not ok]

    @property
    def use_lwt(self) -> bool:
        """Whether every camera has its own connection carrying its Last Will."""
        return self.lwt if self.lwt is not None else self.cameras <= LWT_DEFAULT_MAX_CAMERAS

    @property
    def client_count(self) -> int:
        """How many MQTT connections share the cameras."""
        if self.use_lwt:
            return self.cameras
        return min(self.cameras, self.clients or min(self.cameras, 4))

    def camera_ids(self) -> list[str]:
        """The simulated camera ids, ``{prefix}{index:03d}`` from ``first_index`` on."""
        return [
            f"{self.camera_prefix}{index:03d}"
            for index in range(self.first_index, self.first_index + self.cameras)
        ]

    def cameras_of_client(self) -> list[list[str]]:
        """The camera ids each connection publishes for (round-robin split)."""
        ids = self.camera_ids()
        count = self.client_count
        return [ids[index::count] for index in range(count)]
