"""Typed inputs and outputs of the camera registry (:mod:`vigil_cli.camera_store`).

Validation of ids, zones, desired states and credentials is ``vigil_schema``'s; these models
add the registry's plain descriptive columns (site, vendor, IP, ...) with the bounds the
``cameras`` table's CHECK constraints enforce, so bad input fails before the database.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyAddress,
    SecretStr,
    field_validator,
)

from vigil_schema.camera import CameraCredentials, Confidence, MaintenanceWindow, ZoneConfig
from vigil_schema.enums import ApplyPolicy, DesiredState
from vigil_schema.ids import CameraId

Name = Annotated[str, Field(min_length=1, max_length=255)]
Text = Annotated[str, Field(min_length=1, max_length=255)]
Port = Annotated[int, Field(ge=1, le=65535)]
HealthInterval = Annotated[int, Field(ge=1, le=86400)]
TagKey = Annotated[str, Field(min_length=1, max_length=64)]
Tags = dict[TagKey, Annotated[str, Field(max_length=255)]]

CONNECTION_SCHEMES: Final = frozenset({"rtsp", "rtsps", "http", "https", "rtmp", "srt"})
NON_NULL_COLUMNS: Final = frozenset(
    {"name", "zone_config", "desired_state", "health_interval_s", "apply_policy"}
)


def check_connection_string(value: SecretStr) -> SecretStr:
    """Require ``scheme://host...`` with a streaming scheme; the error never shows the URL."""
    try:
        parts = urlsplit(value.get_secret_value())
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise ValueError("connection string is not a valid URL") from None
    if parts.scheme not in CONNECTION_SCHEMES or not parts.hostname:
        allowed = ", ".join(sorted(CONNECTION_SCHEMES))
        raise ValueError(f"connection string must be a URL like rtsp://host/path ({allowed})")
    return value


ConnectionString = Annotated[SecretStr, AfterValidator(check_connection_string)]


class _Attributes(BaseModel):
    """Descriptive columns shared by a new camera and an update (all optional here)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    site: Text | None = None
    vendor: Text | None = None
    model: Text | None = None
    firmware: Text | None = None
    ip: IPvAnyAddress | None = None
    onvif_port: Port | None = None
    vms_system: Text | None = None
    vms_camera_id: Text | None = None
    location: Text | None = None
    scene_type: Text | None = None
    purpose: Text | None = None
    maintenance_window: MaintenanceWindow | None = None
    auto_apply_min_confidence: Confidence | None = None


class NewCamera(_Attributes):
    """Everything needed to register a camera; secrets are encrypted by the store."""

    id: CameraId
    name: Name
    zone_config: ZoneConfig = Field(default_factory=ZoneConfig)
    desired_state: DesiredState = DesiredState.ACTIVE
    health_interval_s: HealthInterval = 60
    apply_policy: ApplyPolicy = ApplyPolicy.MANUAL
    tags: Tags = Field(default_factory=dict)
    credentials: CameraCredentials | None = None
    connection_string: ConnectionString | None = None


class CameraUpdate(_Attributes):
    """A partial change: only the fields explicitly given (``model_fields_set``) change.

    ``None`` clears a nullable column (and removes stored credentials or connection string);
    it is refused for the columns that cannot be empty. ``tags`` are merged into the stored
    tags and ``untag`` keys removed from them.
    """

    name: Name | None = None
    zone_config: ZoneConfig | None = None
    desired_state: DesiredState | None = None
    health_interval_s: HealthInterval | None = None
    apply_policy: ApplyPolicy | None = None
    tags: Tags = Field(default_factory=dict)
    untag: list[TagKey] = Field(default_factory=list)
    credentials: CameraCredentials | None = None
    connection_string: ConnectionString | None = None

    @field_validator(*NON_NULL_COLUMNS)
    @classmethod
    def _not_cleared(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be cleared")
        return value

    def column_changes(self) -> dict[str, Any]:
        """The plain (non-secret, non-tag) columns this update sets, with their new values."""
        skip = {"tags", "untag", "credentials", "connection_string"}
        return {name: getattr(self, name) for name in self.model_fields_set - skip}

    def is_empty(self) -> bool:
        """Whether the update changes nothing."""
        return not (self.model_fields_set - {"tags", "untag"}) and not self.tags and not self.untag


@dataclass(frozen=True)
class CameraRecord:
    """A ``cameras`` row as stored: secrets stay Fernet tokens until explicitly decrypted."""

    id: str
    name: str
    site: str | None
    vendor: str | None
    model: str | None
    firmware: str | None
    ip: IPv4Address | IPv6Address | None
    onvif_port: int | None
    vms_system: str | None
    vms_camera_id: str | None
    location: str | None
    scene_type: str | None
    purpose: str | None
    zone_config: ZoneConfig
    desired_state: DesiredState
    credentials_encrypted: bytes | None
    connection_string_encrypted: bytes | None
    capabilities: dict[str, Any]
    tags: dict[str, str]
    health_interval_s: int
    created_at: datetime
    updated_at: datetime
    apply_policy: ApplyPolicy
    maintenance_window: MaintenanceWindow | None
    auto_apply_min_confidence: float | None

    @classmethod
    def column_names(cls) -> tuple[str, ...]:
        """The ``cameras`` columns a record is read from, in field order."""
        return tuple(field.name for field in fields(cls))

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CameraRecord:
        """Build a record from a ``SELECT`` row (psycopg ``dict_row``)."""
        values = dict(row)
        values["zone_config"] = ZoneConfig.model_validate(row["zone_config"])
        values["desired_state"] = DesiredState(row["desired_state"])
        values["apply_policy"] = ApplyPolicy(row["apply_policy"])
        window = row["maintenance_window"]
        values["maintenance_window"] = (
            None if window is None else MaintenanceWindow.model_validate(window)
        )
        for column in ("credentials_encrypted", "connection_string_encrypted"):
            token = row[column]
            values[column] = bytes(token) if token is not None else None
        return cls(**values)

    @property
    def has_credentials(self) -> bool:
        """Whether encrypted credentials are stored."""
        return self.credentials_encrypted is not None

    @property
    def has_connection_string(self) -> bool:
        """Whether an encrypted connection string is stored."""
        return self.connection_string_encrypted is not None
