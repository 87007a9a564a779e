"""WS-Security UsernameToken checks (PasswordDigest or PasswordText) with clock skew.

A camera's clock is the host clock plus ``skew_s``. :func:`check_token` accepts a request
whose ``wsse:UsernameToken`` names the camera's user, carries
``Base64(SHA1(nonce + created + password))`` (or the password itself with PasswordText) and
whose ``wsu:Created`` lies within ``max_drift_s`` of the camera's clock; anything else raises
``ter:NotAuthorized``. The default window of 300 s is the usual WS-Security freshness limit
(WSS4J's default timestamp TTL); real firmwares range from a few seconds to unchecked.
Nonces are not remembered (no replay cache): clients retry with fresh ones anyway.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac

from vigil_tools.onvif_sim.xmlkit import NS, Element, SoapFault, findtext

__all__ = ["check_token", "password_digest"]

_DIGEST_TYPE = "#PasswordDigest"


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """``Base64(SHA1(nonce + created + password))``."""
    raw = hashlib.sha1(nonce + created.encode() + password.encode()).digest()
    return base64.b64encode(raw).decode()


def _parse_created(text: str) -> dt.datetime:
    try:
        created = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SoapFault.not_authorized(f"wsu:Created {text!r} is not a timestamp") from exc
    return created if created.tzinfo else created.replace(tzinfo=dt.UTC)


def check_token(
    header: Element | None, username: str, password: str, now: dt.datetime, max_drift_s: float
) -> None:
    """Raise ``ter:NotAuthorized`` unless ``header`` authenticates ``username`` at ``now``."""
    token = None if header is None else header.find(".//wsse:UsernameToken", NS)
    if token is None:
        raise SoapFault.not_authorized("sender not authorized: no UsernameToken")
    if findtext(token, "wsse:Username") != username:
        raise SoapFault.not_authorized("sender not authorized: unknown user")
    created = findtext(token, "wsu:Created") or ""
    password_el = token.find("wsse:Password", NS)
    given = "" if password_el is None or password_el.text is None else password_el.text.strip()
    if str(password_el.get("Type", "") if password_el is not None else "").endswith(_DIGEST_TYPE):
        try:
            nonce = base64.b64decode(findtext(token, "wsse:Nonce") or "", validate=True)
        except binascii.Error as exc:
            raise SoapFault.not_authorized("sender not authorized: bad nonce") from exc
        if not created:
            raise SoapFault.not_authorized("sender not authorized: digest without wsu:Created")
        expected = password_digest(nonce, created, password)
    else:
        expected = password
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SoapFault.not_authorized("sender not authorized: wrong password")
    if created:
        drift = abs((_parse_created(created) - now).total_seconds())
        if drift > max_drift_s:
            raise SoapFault.not_authorized(
                f"sender not authorized: wsu:Created {drift:.0f} s off the camera clock"
            )
