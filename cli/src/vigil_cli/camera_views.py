"""How cameras are shown by `vigil cameras list` and `show`: text and JSON, never a password.

The username of stored credentials and the connection string (password masked) are shown
when ``VIGIL_SECRET_KEY`` can decrypt them; otherwise only the fact that they are set.
"""

from __future__ import annotations

from typing import Any

from vigil_cli.camera_models import CameraRecord
from vigil_cli.camera_secrets import decrypt_credentials, masked_connection_string
from vigil_cli.output import render_fields, render_table
from vigil_runtime.crypto import CredentialCipher, DecryptionError
from vigil_schema.camera import Zone

LIST_HEADERS = ("ID", "NAME", "SITE", "VENDOR", "IP", "STATE", "ZONES", "CREDS", "UPDATED")


def list_row(record: CameraRecord) -> tuple[object, ...]:
    """One line of `vigil cameras list`."""
    return (
        record.id,
        record.name,
        record.site,
        record.vendor,
        record.ip,
        record.desired_state,
        len(record.zone_config.zones),
        record.has_credentials,
        record.updated_at,
    )


def list_table(records: list[CameraRecord]) -> str:
    """The text table of `vigil cameras list`."""
    return render_table(LIST_HEADERS, [list_row(record) for record in records])


def list_json(record: CameraRecord) -> dict[str, Any]:
    """One element of `vigil cameras list --json` (no decryption needed)."""
    return {
        "id": record.id,
        "name": record.name,
        "site": record.site,
        "vendor": record.vendor,
        "model": record.model,
        "ip": record.ip,
        "desired_state": record.desired_state,
        "zones": len(record.zone_config.zones),
        "has_credentials": record.has_credentials,
        "has_connection_string": record.has_connection_string,
        "updated_at": record.updated_at,
    }


def _secret_status(record: CameraRecord, cipher: CredentialCipher | None) -> dict[str, Any]:
    """Username and masked URL when decryptable, else why not; never the password."""
    status: dict[str, Any] = {
        "credentials": {"set": record.has_credentials},
        "connection_string": {"set": record.has_connection_string},
    }
    if not (record.has_credentials or record.has_connection_string):
        return status
    if cipher is None:
        status["note"] = "VIGIL_SECRET_KEY not set: cannot show the username or stream URL"
        return status
    try:
        credentials = decrypt_credentials(record, cipher)
        if credentials is not None:
            status["credentials"]["username"] = credentials.username
        status["connection_string"]["url"] = masked_connection_string(record, cipher)
    except DecryptionError:
        status["note"] = "stored secrets do not decrypt with VIGIL_SECRET_KEY"
    return status


def show_json(record: CameraRecord, cipher: CredentialCipher | None) -> dict[str, Any]:
    """`vigil cameras show --json`: every column, secrets replaced by their status."""
    data: dict[str, Any] = {
        name: getattr(record, name)
        for name in CameraRecord.column_names()
        if not name.endswith("_encrypted")
    }
    data["zone_config"] = record.zone_config.model_dump(mode="json")
    window = record.maintenance_window
    data["maintenance_window"] = None if window is None else window.to_json()
    data.update(_secret_status(record, cipher))
    return data


def _window_text(record: CameraRecord) -> str | None:
    window = record.maintenance_window
    if window is None:
        return None
    days = "" if window.days is None else " days " + ",".join(map(str, window.days))
    return f"{window.start}-{window.end} {window.tz}{days}"


def _zone_summary(zone: Zone) -> str:
    parts = [f"{len(zone.polygon)} points"]
    if zone.classes:
        parts.append("classes " + "/".join(zone.classes))
    if zone.capacity is not None:
        parts.append(f"capacity {zone.capacity}")
    return f"{zone.name} ({', '.join(parts)})"


def _secret_lines(record: CameraRecord, cipher: CredentialCipher | None) -> dict[str, str]:
    status = _secret_status(record, cipher)
    credentials = status["credentials"]
    connection = status["connection_string"]
    lines = {
        "credentials": "not set",
        "connection string": "not set",
    }
    if credentials["set"]:
        user = credentials.get("username")
        lines["credentials"] = f"set (user: {user})" if user else "set"
    if connection["set"]:
        lines["connection string"] = connection.get("url") or "set"
    if "note" in status:
        lines["secrets note"] = status["note"]
    return lines


def show_text(record: CameraRecord, cipher: CredentialCipher | None) -> str:
    """`vigil cameras show`: aligned ``field: value`` lines."""
    zones = record.zone_config.zones
    fields: dict[str, object] = {
        "id": record.id,
        "name": record.name,
        "desired state": record.desired_state,
        "site": record.site,
        "location": record.location,
        "vendor": record.vendor,
        "model": record.model,
        "firmware": record.firmware,
        "ip": record.ip,
        "onvif port": record.onvif_port,
        "vms": " / ".join(v for v in (record.vms_system, record.vms_camera_id) if v) or None,
        "scene type": record.scene_type,
        "purpose": record.purpose,
        "health interval": f"{record.health_interval_s} s",
        "apply policy": record.apply_policy,
        "maintenance window": _window_text(record),
        "auto-apply min confidence": record.auto_apply_min_confidence,
        "tags": ", ".join(f"{k}={v}" for k, v in sorted(record.tags.items())) or None,
        "zones": f"{len(zones)}: " + "; ".join(_zone_summary(z) for z in zones) if zones else 0,
        **_secret_lines(record, cipher),
        "capabilities": ", ".join(sorted(record.capabilities)) or None,
        "created": record.created_at,
        "updated": record.updated_at,
    }
    return render_fields(fields)
