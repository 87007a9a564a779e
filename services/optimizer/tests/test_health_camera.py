"""Fetching snapshots over HTTP from a camera that wants Digest or Basic authentication.

The camera is an aiohttp server written here: ``/digest.jpg`` answers with an RFC 7616
challenge (MD5, ``qop="auth"``) and checks the response hash, ``/basic.jpg`` wants RFC 7617
Basic, ``/both.jpg`` offers both (the client must choose Digest); other paths serve HTML, a
JPEG with a sloppy content type, an endless body, a slow answer or a redirect. Every request's
``Authorization`` header is recorded, so the tests see that nothing is sent before the
challenge. The last tests run the whole :class:`SnapshotChecker` (fetch, measure, assess,
store) against this camera and PostgreSQL as the ``vigil_optimizer`` role.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from PIL import Image
from prometheus_client import REGISTRY
from pydantic import SecretStr

from vigil_analyzer.model_files import default_models_dir
from vigil_optimizer.health import SnapshotChecker, SnapshotError, fetch_snapshot
from vigil_schema.camera import CameraCredentials
from vigil_tools.photo_degrade import degrade_jpeg

USER = "admin"
PASSWORD = "s3cret-Pa55"
REALM = "vigil-camera"
GOOD = CameraCredentials(username=USER, password=SecretStr(PASSWORD))
WRONG = CameraCredentials(username=USER, password=SecretStr("not-the-password"))


def _dog() -> Image.Image:
    path = Path(os.environ.get("VIGIL_MODELS_DIR") or default_models_dir()) / "testdata/dog.jpg"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make models`")
    return Image.open(path).convert("RGB")


DOG = _dog()
JPEG = degrade_jpeg(DOG)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')


@dataclass
class Camera:
    """What the fake camera serves and what it was asked."""

    jpeg: bytes = JPEG
    authorizations: list[str | None] = field(default_factory=list)
    nonces: set[str] = field(default_factory=set)

    def digest_challenge(self) -> str:
        nonce = secrets.token_hex(16)
        self.nonces.add(nonce)
        return f'Digest realm="{REALM}", qop="auth", algorithm=MD5, nonce="{nonce}", opaque="o1"'

    def digest_ok(self, header: str, method: str) -> bool:
        if not header.startswith("Digest "):
            return False
        p = {m[0]: m[1] or m[2] for m in _PARAM.findall(header[len("Digest ") :])}
        if p.get("username") != USER or p.get("nonce") not in self.nonces or p.get("qop") != "auth":
            return False
        ha1 = _md5(f"{USER}:{REALM}:{PASSWORD}")
        ha2 = _md5(f"{method}:{p.get('uri')}")
        expected = _md5(f"{ha1}:{p['nonce']}:{p.get('nc')}:{p.get('cnonce')}:auth:{ha2}")
        return secrets.compare_digest(expected, p.get("response", ""))

    @staticmethod
    def basic_ok(header: str) -> bool:
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return secrets.compare_digest(header, f"Basic {token}")

    def image(self, content_type: str = "image/jpeg") -> web.Response:
        return web.Response(body=self.jpeg, content_type=content_type)

    async def digest(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization")
        self.authorizations.append(header)
        if header and self.digest_ok(header, request.method):
            return self.image()
        return web.Response(status=401, headers={"WWW-Authenticate": self.digest_challenge()})

    async def basic(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization")
        self.authorizations.append(header)
        if header and self.basic_ok(header):
            return self.image()
        return web.Response(status=401, headers={"WWW-Authenticate": f'Basic realm="{REALM}"'})

    async def both(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization")
        self.authorizations.append(header)
        if header and self.digest_ok(header, request.method):
            return self.image()
        response = web.Response(status=401)
        response.headers.add("WWW-Authenticate", f'Basic realm="{REALM}"')
        response.headers.add("WWW-Authenticate", self.digest_challenge())
        return response

    async def html(self, request: web.Request) -> web.Response:
        return web.Response(text="<html>login</html>", content_type="text/html")

    async def sloppy(self, request: web.Request) -> web.Response:
        return self.image("text/plain")

    async def corrupt(self, request: web.Request) -> web.Response:
        return web.Response(body=b"\xff\xd8\xff\xe0" + b"\x00" * 64, content_type="image/jpeg")

    async def endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        await response.prepare(request)
        await response.write(b"\xff\xd8\xff\xe0")
        for _ in range(64):
            await response.write(b"\x00" * 65536)
        return response

    async def huge(self, request: web.Request) -> web.Response:
        return web.Response(body=b"\xff\xd8\xff" + b"\x00" * 300_000, content_type="image/jpeg")

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return self.image()

    async def moved(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/basic.jpg")


@pytest_asyncio.fixture
async def camera() -> AsyncIterator[tuple[Camera, str]]:
    """The fake camera and its base URL."""
    cam = Camera()
    app = web.Application()
    for name in ("digest", "basic", "both", "sloppy", "corrupt", "endless", "huge", "slow"):
        app.router.add_get(f"/{name}.jpg", getattr(cam, name))
    app.router.add_get("/html.jpg", cam.html)
    app.router.add_get("/moved.jpg", cam.moved)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield cam, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_digest_answers_the_challenge_and_sends_nothing_before_it(
    camera: tuple[Camera, str],
) -> None:
    cam, base = camera
    assert await fetch_snapshot(f"{base}/digest.jpg", GOOD) == JPEG
    assert len(cam.authorizations) == 2
    assert cam.authorizations[0] is None
    assert (cam.authorizations[1] or "").startswith("Digest ")
    assert PASSWORD not in (cam.authorizations[1] or "")


async def test_basic_is_used_when_the_camera_asks_only_for_basic(
    camera: tuple[Camera, str],
) -> None:
    cam, base = camera
    assert await fetch_snapshot(f"{base}/basic.jpg", GOOD) == JPEG
    assert cam.authorizations[0] is None
    assert (cam.authorizations[1] or "").startswith("Basic ")


async def test_digest_is_preferred_when_both_are_offered(camera: tuple[Camera, str]) -> None:
    cam, base = camera
    assert await fetch_snapshot(f"{base}/both.jpg", GOOD) == JPEG
    assert not any((h or "").startswith("Basic") for h in cam.authorizations)


async def test_a_shared_client_is_used_as_given(camera: tuple[Camera, str]) -> None:
    _, base = camera
    async with httpx.AsyncClient() as client:
        for _ in range(2):
            assert await fetch_snapshot(f"{base}/digest.jpg", GOOD, client=client) == JPEG


@pytest.mark.parametrize("path", ["digest.jpg", "basic.jpg", "both.jpg"])
async def test_a_wrong_password_is_an_auth_error_without_credentials(
    camera: tuple[Camera, str], path: str
) -> None:
    _, base = camera
    with pytest.raises(SnapshotError) as caught:
        await fetch_snapshot(f"{base}/{path}", WRONG)
    assert caught.value.kind == "auth"
    assert "401" in str(caught.value)
    assert "not-the-password" not in str(caught.value) + repr(caught.value)


async def test_no_credentials_for_a_camera_that_wants_them_is_an_auth_error(
    camera: tuple[Camera, str],
) -> None:
    _, base = camera
    with pytest.raises(SnapshotError) as caught:
        await fetch_snapshot(f"{base}/digest.jpg")
    assert caught.value.kind == "auth"


async def test_html_is_not_an_image_but_a_jpeg_with_a_sloppy_content_type_is(
    camera: tuple[Camera, str],
) -> None:
    _, base = camera
    with pytest.raises(SnapshotError) as caught:
        await fetch_snapshot(f"{base}/html.jpg", GOOD)
    assert caught.value.kind == "not_image"
    assert "text/html" in str(caught.value)
    assert await fetch_snapshot(f"{base}/sloppy.jpg", GOOD) == JPEG


@pytest.mark.parametrize("path", ["endless.jpg", "huge.jpg"])
async def test_a_body_over_the_cap_is_too_large(camera: tuple[Camera, str], path: str) -> None:
    _, base = camera
    with pytest.raises(SnapshotError) as caught:
        await fetch_snapshot(f"{base}/{path}", max_bytes=200_000)
    assert caught.value.kind == "too_large"
    assert "200000" in str(caught.value)


async def test_a_slow_camera_times_out(camera: tuple[Camera, str]) -> None:
    _, base = camera
    started = asyncio.get_running_loop().time()
    with pytest.raises(SnapshotError) as caught:
        await fetch_snapshot(f"{base}/slow.jpg", GOOD, timeout_s=0.3)
    assert caught.value.kind == "timeout"
    assert asyncio.get_running_loop().time() - started < 2.0


async def test_a_redirect_or_a_missing_path_is_an_http_error(camera: tuple[Camera, str]) -> None:
    _, base = camera
    for path, status in (("moved.jpg", "302"), ("nowhere.jpg", "404")):
        with pytest.raises(SnapshotError) as caught:
            await fetch_snapshot(f"{base}/{path}", GOOD)
        assert caught.value.kind == "http_error"
        assert status in str(caught.value)


async def test_a_closed_port_is_unreachable_and_the_message_hides_credentials() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"http://{USER}:{PASSWORD}@127.0.0.1:{port}/snap.jpg?user={USER}&pwd={PASSWORD}"
    with pytest.raises(SnapshotError) as caught:
        await fetch_snapshot(uri, GOOD)
    assert caught.value.kind == "unreachable"
    assert str(caught.value).startswith(f"http://127.0.0.1:{port}/snap.jpg")
    assert PASSWORD not in str(caught.value)
    assert USER not in str(caught.value)


async def test_credentials_in_the_uri_answer_the_challenge_and_never_go_first(
    camera: tuple[Camera, str],
) -> None:
    cam, base = camera
    with_login = base.replace("http://", f"http://{USER}:{PASSWORD}@")
    for path, scheme in (("digest.jpg", "Digest "), ("basic.jpg", "Basic ")):
        cam.authorizations.clear()
        assert await fetch_snapshot(f"{with_login}/{path}") == JPEG
        assert cam.authorizations[0] is None
        assert (cam.authorizations[1] or "").startswith(scheme)


@pytest.mark.parametrize(
    "uri", ["rtsp://127.0.0.1/stream", "http://[::1/snap.jpg", "http://127.0.0.1:99999/x", "jpg"]
)
async def test_only_valid_http_and_https_uris_are_fetched(uri: str) -> None:
    with pytest.raises(SnapshotError) as caught:
        await fetch_snapshot(uri, GOOD)
    assert caught.value.kind == "unreachable"


def _count(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_checker_fetches_measures_assesses_and_stores(
    camera: tuple[Camera, str],
    pg_pool_as: Callable[[str], Awaitable[Any]],
    tmp_path: Path,
) -> None:
    cam, base = camera
    cam.jpeg = degrade_jpeg(DOG, darkness=0.85)
    pool = await pg_pool_as("vigil_optimizer")
    checker = SnapshotChecker(pool, tmp_path)
    critical = _count("vigil_optimizer_snapshots_total", {"outcome": "critical"})
    too_dark = _count("vigil_optimizer_snapshot_anomalies_total", {"type": "too_dark"})

    health = await checker.check("cam-dark", f"{base}/digest.jpg", GOOD)

    assert health.level == "critical"
    assert health.anomaly_types() == {"too_dark"}
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT id, file_path, health_level, anomalies FROM snapshots WHERE camera_id = $1",
            "cam-dark",
        )
    assert row is not None
    assert row["id"] == health.snapshot_id
    assert row["health_level"] == "critical"
    assert row["anomalies"] == health.anomalies
    assert (tmp_path / row["file_path"]).read_bytes() == cam.jpeg
    assert _count("vigil_optimizer_snapshots_total", {"outcome": "critical"}) == critical + 1
    assert _count("vigil_optimizer_snapshot_anomalies_total", {"type": "too_dark"}) == too_dark + 1


async def test_the_checker_refuses_a_bad_camera_id_before_asking_the_camera(
    camera: tuple[Camera, str], pg_pool_as: Callable[[str], Awaitable[Any]], tmp_path: Path
) -> None:
    cam, base = camera
    pool = await pg_pool_as("vigil_optimizer")
    with pytest.raises(ValueError, match="invalid camera id"):
        await SnapshotChecker(pool, tmp_path).check("../cam", f"{base}/digest.jpg", GOOD)
    assert cam.authorizations == []


@pytest.mark.parametrize(
    ("path", "credentials", "kind"),
    [("digest.jpg", WRONG, "auth"), ("html.jpg", GOOD, "not_image"),
     ("corrupt.jpg", GOOD, "not_image")],
)  # fmt: skip
async def test_a_failed_check_is_counted_and_stores_nothing(
    camera: tuple[Camera, str],
    pg_pool_as: Callable[[str], Awaitable[Any]],
    tmp_path: Path,
    path: str,
    credentials: CameraCredentials,
    kind: str,
) -> None:
    _, base = camera
    pool = await pg_pool_as("vigil_optimizer")
    before = _count("vigil_optimizer_snapshots_total", {"outcome": kind})
    with pytest.raises(SnapshotError) as caught:
        await SnapshotChecker(pool, tmp_path).check("cam-bad", f"{base}/{path}", credentials)
    assert caught.value.kind == kind
    assert _count("vigil_optimizer_snapshots_total", {"outcome": kind}) == before + 1
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM snapshots") == 0
    assert await asyncio.to_thread(lambda: not any(tmp_path.iterdir()))
