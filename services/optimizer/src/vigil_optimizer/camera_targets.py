"""The cameras the optimizer can reach: registry rows with their decrypted ONVIF login.

:class:`CameraTargets` reads ``cameras`` as the optimizer's role. :meth:`CameraTargets.get`
returns a :class:`CameraTarget` (the registry facts, the ONVIF address, the credentials
decrypted with ``VIGIL_SECRET_KEY``), or raises :class:`NotReachableError` saying why the
camera cannot be inspected (unknown, no address, no credentials, undecryptable credentials).
:meth:`CameraTargets.save_capabilities` stores what
inspection found in ``cameras.capabilities`` and fills vendor, model and firmware.

Credentials exist only in memory, inside :class:`~vigil_schema.camera.CameraCredentials`
(whose ``repr`` hides the password); they are never logged or written back.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from vigil_optimizer.apply.policy import CameraPolicy
from vigil_runtime.crypto import CredentialCipher, DecryptionError
from vigil_schema.camera import CameraConfig, CameraCredentials
from vigil_schema.camera_settings import CameraCapabilities

__all__ = ["CameraTarget", "CameraTargets", "NotReachableError"]

DEFAULT_ONVIF_PORT = 80


class NotReachableError(Exception):
    """The camera cannot be inspected; the message says why (never a secret)."""


@dataclass(frozen=True)
class CameraTarget:
    """One camera the optimizer can talk to."""

    config: CameraConfig
    host: str
    port: int
    credentials: CameraCredentials

    @property
    def camera_id(self) -> str:
        return self.config.id

    def policy(self) -> CameraPolicy:
        """The camera's apply policy, maintenance window and confidence threshold."""
        config = self.config
        return CameraPolicy(config.apply_policy, config.maintenance_window,
                            config.auto_apply_min_confidence)  # fmt: skip


class CameraTargets:
    """See the module docstring."""

    def __init__(self, pool: asyncpg.Pool, cipher: CredentialCipher | None) -> None:
        self._pool = pool
        self._cipher = cipher

    async def get(self, camera_id: str) -> CameraTarget:
        """The camera ``camera_id`` with its login (raises :class:`NotReachableError`)."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM cameras WHERE id = $1", camera_id)
        if row is None:
            raise NotReachableError(f"no camera {camera_id!r} is registered")
        config = CameraConfig.from_row(row)
        if config.ip is None:
            raise NotReachableError(f"camera {camera_id!r} has no ip (vigil cameras update)")
        return CameraTarget(config, str(config.ip), config.onvif_port or DEFAULT_ONVIF_PORT,
                            self._credentials(camera_id, row["credentials_encrypted"]))  # fmt: skip

    def _credentials(self, camera_id: str, token: bytes | None) -> CameraCredentials:
        if token is None:
            raise NotReachableError(f"camera {camera_id!r} has no stored credentials")
        if self._cipher is None:
            raise NotReachableError("VIGIL_SECRET_KEY is not set: stored credentials are unusable")
        try:
            return CameraCredentials.from_json_bytes(self._cipher.decrypt(token))
        except (DecryptionError, ValueError):
            raise NotReachableError(
                f"camera {camera_id!r}: stored credentials cannot be decrypted with "
                "VIGIL_SECRET_KEY"
            ) from None

    async def save_capabilities(self, camera_id: str, caps: CameraCapabilities) -> None:
        """Store ``caps`` and the device's vendor, model and firmware (where reported); a row
        that would not change is not written (each write notifies every service's
        ``CameraWatch``, which reloads the registry). ``inspectedAt`` is not compared."""
        device = caps.device
        async with self._pool.acquire() as conn:
            await conn.execute(
                "UPDATE cameras SET capabilities = $2, vendor = coalesce($3, vendor), "
                "model = coalesce($4, model), firmware = coalesce($5, firmware), "
                "updated_at = now() WHERE id = $1 AND ("
                "(capabilities - 'inspectedAt') IS DISTINCT FROM ($2::jsonb - 'inspectedAt') "
                "OR vendor IS DISTINCT FROM coalesce($3, vendor) "
                "OR model IS DISTINCT FROM coalesce($4, model) "
                "OR firmware IS DISTINCT FROM coalesce($5, firmware))",
                camera_id, caps.model_dump(mode="json", by_alias=True, exclude_none=True),
                device.manufacturer, device.model, device.firmware_version,
            )  # fmt: skip
