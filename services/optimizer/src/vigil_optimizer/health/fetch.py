"""Fetch a camera's snapshot JPEG from its snapshot URI (ONVIF ``GetSnapshotUri``).

:func:`fetch_snapshot` GETs the URI with httpx and returns the JPEG bytes. Authentication
answers the camera's challenge (:class:`CameraAuth`): nothing is sent with the first request;
a ``401`` with a ``Digest`` challenge is answered by ``httpx.DigestAuth`` (RFC 7616), one with
only a ``Basic`` challenge by Basic credentials (RFC 7617), so a password never travels in
clear to a camera that asked for Digest. User info in the URI (``http://user:pw@host/...``,
as some firmware reports it) is taken out of the URL and used the same way when no
credentials are given, instead of httpx's pre-emptive Basic. Redirects are not followed (a
redirect is an ``http_error``), which keeps the credentials on the camera's own origin.

Limits: ``timeout_s`` bounds each network phase and the whole exchange; a body larger than
``max_bytes`` (declared by ``Content-Length`` or counted while reading) is ``too_large``.
The body must start with the JPEG SOI marker ``FF D8 FF``; a ``Content-Type`` that is not
``image/*`` is tolerated when the bytes are a JPEG (some firmware sends ``text/plain``).

Every failure raises :class:`SnapshotError` with a ``kind``: ``unreachable`` (connection
refused, DNS, TLS), ``timeout``, ``auth`` (401/403 after answering the challenge), ``http_error``
(any other non-2xx status or a redirect), ``not_image``, ``too_large``. Messages name the URI
as ``scheme://host:port/path`` only: never its user info or query (some cameras take the
password there) and never the credentials.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Final, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
from pydantic import SecretStr, ValidationError

from vigil_schema.camera import CameraCredentials

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT_S",
    "JPEG_MAGIC",
    "CameraAuth",
    "SnapshotError",
    "SnapshotErrorKind",
    "fetch_snapshot",
    "safe_uri",
]

DEFAULT_MAX_BYTES: Final = 20 * 1024 * 1024
DEFAULT_TIMEOUT_S: Final = 10.0
JPEG_MAGIC: Final = b"\xff\xd8\xff"

SnapshotErrorKind = Literal[
    "unreachable", "timeout", "auth", "http_error", "not_image", "too_large"
]


class SnapshotError(Exception):
    """A snapshot could not be fetched; ``kind`` says why (see the module docstring)."""

    def __init__(self, kind: SnapshotErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: SnapshotErrorKind = kind


def safe_uri(uri: str) -> str:
    """``uri`` as ``scheme://host[:port]/path``, without user info, query or fragment."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<invalid URI>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _without_userinfo(uri: str) -> tuple[str, CameraCredentials | None]:
    """``uri`` without ``user:password@``, and those credentials (None if there are none)."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri, None
    host = parts.netloc.rsplit("@", 1)[1]
    bare = urlunsplit(parts._replace(netloc=host))
    try:
        found = CameraCredentials(
            username=unquote(parts.username or ""),
            password=SecretStr(unquote(parts.password or "")),
        )
    except ValidationError:
        return bare, None
    return bare, found


class CameraAuth(httpx.Auth):
    """Answers a camera's ``WWW-Authenticate`` challenge: Digest if offered, else Basic."""

    def __init__(self, credentials: CameraCredentials) -> None:
        password = credentials.password.get_secret_value()
        self._digest = httpx.DigestAuth(credentials.username, password)
        self._basic = httpx.BasicAuth(credentials.username, password)

    def __repr__(self) -> str:
        return "CameraAuth(<credentials>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send unauthenticated; on a 401 answer its challenge once."""
        response = yield request
        if response.status_code != 401:
            return
        schemes = {
            value.strip().split(" ", 1)[0].lower()
            for value in response.headers.get_list("www-authenticate")
        }
        if "digest" in schemes:
            digest = self._digest.auth_flow(request)
            next(digest)  # the unauthenticated request, already sent
            try:
                retry = digest.send(response)
                while True:
                    retry = digest.send((yield retry))
            except StopIteration:
                return
        if "basic" in schemes:
            yield next(self._basic.auth_flow(request))


def _check_status(response: httpx.Response, where: str) -> None:
    status = response.status_code
    if status in (401, 403):
        raise SnapshotError("auth", f"{where} refused the credentials (HTTP {status})")
    if not 200 <= status < 300:
        raise SnapshotError("http_error", f"{where} answered HTTP {status}")


async def _read_capped(response: httpx.Response, max_bytes: int, where: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise SnapshotError("too_large", f"{where} declares {declared} bytes (cap {max_bytes})")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise SnapshotError("too_large", f"{where} sent more than {max_bytes} bytes")
    return bytes(body)


def _check_jpeg(body: bytes, content_type: str, where: str) -> None:
    if body.startswith(JPEG_MAGIC):
        return
    shown = content_type.split(";", 1)[0].strip() or "no content type"
    raise SnapshotError(
        "not_image", f"{where} sent {len(body)} bytes of {shown}, not a JPEG (no FF D8 FF)"
    )


async def _get(
    client: httpx.AsyncClient, url: httpx.URL, auth: httpx.Auth | None, max_bytes: int, where: str
) -> bytes:
    request = client.build_request("GET", url, headers={"Accept": "image/jpeg"})
    response = await client.send(request, auth=auth, stream=True, follow_redirects=False)
    try:
        _check_status(response, where)
        body = await _read_capped(response, max_bytes, where)
        _check_jpeg(body, response.headers.get("content-type", ""), where)
        return body
    finally:
        await response.aclose()


def _prepare(
    uri: str, credentials: CameraCredentials | None, where: str
) -> tuple[httpx.URL, CameraAuth | None]:
    """The URL without user info and the auth to answer challenges with."""
    try:
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.port == 0:
            raise ValueError("not an http(s) URL with a host and a port in 1–65535")
        bare, in_uri = _without_userinfo(uri)
        url = httpx.URL(bare)
    except (ValueError, httpx.InvalidURL) as exc:
        raise SnapshotError("unreachable", f"{where}: not a valid http(s) URI") from exc
    login = credentials or in_uri
    return url, (CameraAuth(login) if login is not None else None)


async def fetch_snapshot(
    uri: str,
    credentials: CameraCredentials | None = None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = DEFAULT_MAX_BYTES,
    client: httpx.AsyncClient | None = None,
    verify_tls: bool = True,
) -> bytes:
    """The JPEG at ``uri`` (see the module docstring); raises :class:`SnapshotError`.

    ``client`` lets a caller share one connection pool across cameras; without it a client
    is opened for this call (``verify_tls`` applies to it only).
    """
    where = safe_uri(uri)
    url, auth = _prepare(uri, credentials, where)
    try:
        async with asyncio.timeout(timeout_s):
            if client is not None:
                return await _get(client, url, auth, max_bytes, where)
            async with httpx.AsyncClient(timeout=timeout_s, verify=verify_tls) as own:
                return await _get(own, url, auth, max_bytes, where)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise SnapshotError("timeout", f"{where} did not answer within {timeout_s:g} s") from exc
    except httpx.HTTPError as exc:
        raise SnapshotError("unreachable", f"{where}: {type(exc).__name__}") from exc
