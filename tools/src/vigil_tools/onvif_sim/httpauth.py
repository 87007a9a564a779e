"""HTTP authentication of the snapshot endpoint: Digest (RFC 7616, MD5, qop=auth), Basic.

:class:`HttpAuth` issues stateless nonces (a timestamp signed with a per-process secret,
valid 5 minutes) in its ``WWW-Authenticate`` challenge and checks ``Authorization``
headers. Basic is accepted only when enabled for the camera, as on cameras where the
operator allows it; real ONVIF snapshot URIs mostly require Digest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

__all__ = ["HttpAuth"]

_SECRET = secrets.token_bytes(16)
_NONCE_TTL_S = 300.0


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _parse_params(header: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in _split(header):
        key, _, value = part.strip().partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return params


def _split(text: str) -> list[str]:
    """Split on commas outside quotes."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


class HttpAuth:
    """Checks one camera's credentials on plain HTTP requests."""

    def __init__(self, username: str, password: str, realm: str, allow_basic: bool) -> None:
        self.username = username
        self.password = password
        self.realm = realm
        self.allow_basic = allow_basic

    def _nonce(self, issued: int) -> str:
        mac = hmac.new(_SECRET, str(issued).encode(), hashlib.sha256).hexdigest()[:24]
        return f"{issued:x}.{mac}"

    def _nonce_ok(self, nonce: str) -> bool:
        stamp, _, _mac = nonce.partition(".")
        try:
            issued = int(stamp, 16)
        except ValueError:
            return False
        fresh = time.time() - issued <= _NONCE_TTL_S
        return fresh and hmac.compare_digest(nonce, self._nonce(issued))

    def challenge(self) -> str:
        """A ``WWW-Authenticate`` header value offering Digest (and Basic when allowed)."""
        return (
            f'Digest realm="{self.realm}", qop="auth", algorithm=MD5, '
            f'nonce="{self._nonce(int(time.time()))}", opaque="{_md5(self.realm)}"'
        )

    def check(self, method: str, path: str, header: str | None) -> bool:
        """Whether ``header`` (an ``Authorization`` value) authenticates the camera's user
        for ``method`` on ``path`` (a Digest answer must name the requested path)."""
        if not header:
            return False
        scheme, _, rest = header.partition(" ")
        if scheme.lower() == "basic":
            return self.allow_basic and self._basic(rest)
        if scheme.lower() == "digest":
            params = _parse_params(rest)
            same_path = params.get("uri", "").split("?")[0] == path
            return same_path and self._digest(method, params)
        return False

    def _basic(self, token: str) -> bool:
        try:
            user, _, password = base64.b64decode(token.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(f"{user}:{password}", f"{self.username}:{self.password}")

    def _digest(self, method: str, p: dict[str, str]) -> bool:
        if p.get("username") != self.username or p.get("realm") != self.realm:
            return False
        nonce = p.get("nonce", "")
        if not self._nonce_ok(nonce):
            return False
        ha1 = _md5(f"{self.username}:{self.realm}:{self.password}")
        ha2 = _md5(f"{method}:{p.get('uri', '')}")
        if p.get("qop"):
            expected = _md5(f"{ha1}:{nonce}:{p.get('nc', '')}:{p.get('cnonce', '')}:auth:{ha2}")
        else:
            expected = _md5(f"{ha1}:{nonce}:{ha2}")
        return hmac.compare_digest(expected, p.get("response", ""))
