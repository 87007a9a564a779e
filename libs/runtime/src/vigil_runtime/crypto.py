"""Encryption at rest of camera credentials and connection strings.

Secrets are stored as Fernet tokens (AES-128-CBC + HMAC-SHA256, from ``cryptography``).
The key comes from ``VIGIL_SECRET_KEY``, which may hold several comma-separated Fernet keys so
that keys can be rotated without downtime: the first key encrypts, every key decrypts
(``MultiFernet``). To rotate, prepend a new key, re-encrypt the stored tokens
(``vigil cameras rotate-credentials``), then drop the old key.

Error messages never contain key material: a malformed key is named by its position only.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

SECRET_KEY_ENV = "VIGIL_SECRET_KEY"


class SecretKeyError(ValueError):
    """``VIGIL_SECRET_KEY`` is missing or holds something that is not a Fernet key."""


class DecryptionError(ValueError):
    """A token was not produced by any configured key, or was altered."""


def generate_key() -> str:
    """Return a new random Fernet key (44 url-safe base64 characters)."""
    return Fernet.generate_key().decode("ascii")


def _parse_keys(secret: str) -> list[Fernet]:
    """Split a comma-separated key list into Fernet instances, validating each entry."""
    entries = [entry.strip() for entry in secret.split(",")]
    entries = [entry for entry in entries if entry]
    if not entries:
        raise SecretKeyError(
            f"{SECRET_KEY_ENV} is empty: set it to a Fernet key "
            "(generate one with `vigil cameras generate-key`)"
        )
    fernets: list[Fernet] = []
    for position, entry in enumerate(entries, start=1):
        try:
            fernets.append(Fernet(entry))
        except (ValueError, TypeError):
            # The exception text may echo the key; never chain or print it.
            raise SecretKeyError(
                f"{SECRET_KEY_ENV} key {position} of {len(entries)} is not a valid Fernet key "
                "(expected 32 bytes in url-safe base64, 44 characters; "
                "generate one with `vigil cameras generate-key`)"
            ) from None
    return fernets


class CredentialCipher:
    """Encrypts with the first configured key; decrypts with any of them."""

    def __init__(self, keys: Sequence[Fernet]) -> None:
        if not keys:
            raise SecretKeyError(f"{SECRET_KEY_ENV} holds no key")
        self._keys = list(keys)
        self._multi = MultiFernet(self._keys)

    @classmethod
    def from_secret(cls, secret: SecretStr | str | None) -> CredentialCipher:
        """Build a cipher from the value of ``VIGIL_SECRET_KEY`` (``None`` when unset)."""
        if secret is None:
            raise SecretKeyError(
                f"{SECRET_KEY_ENV} is not set: camera credentials are stored encrypted and "
                "need a key (generate one with `vigil cameras generate-key` and put it in the "
                "environment or the stack env file)"
            )
        raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        return cls(_parse_keys(raw))

    @property
    def key_count(self) -> int:
        """How many keys can decrypt (the first of them encrypts)."""
        return len(self._keys)

    def encrypt(self, plaintext: bytes) -> bytes:
        """Return a Fernet token for ``plaintext`` made with the primary (first) key."""
        return self._multi.encrypt(plaintext)

    def decrypt(self, token: bytes) -> bytes:
        """Return the plaintext of ``token``; raise :class:`DecryptionError` if no key fits."""
        try:
            return self._multi.decrypt(bytes(token))
        except InvalidToken:
            raise DecryptionError(self._no_key_message()) from None

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt ``token`` with the primary key (keeps its original timestamp)."""
        try:
            return self._multi.rotate(bytes(token))
        except InvalidToken:
            raise DecryptionError(self._no_key_message()) from None

    def is_primary(self, token: bytes) -> bool:
        """Whether ``token`` already decrypts with the primary key (rotation not needed)."""
        try:
            self._keys[0].decrypt(bytes(token))
        except InvalidToken:
            return False
        return True

    def _no_key_message(self) -> str:
        return (
            f"stored secret cannot be decrypted with any of the {len(self._keys)} key(s) in "
            f"{SECRET_KEY_ENV} (wrong key, or a key that encrypted it was removed)"
        )
