"""Tests of the credential cipher: round trip, key rotation, clear errors without key leaks."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from vigil_runtime.crypto import CredentialCipher, DecryptionError, SecretKeyError, generate_key


def test_round_trip_and_token_hides_plaintext() -> None:
    cipher = CredentialCipher.from_secret(generate_key())
    token = cipher.encrypt(b"hunter2-password")
    assert b"hunter2" not in token
    assert cipher.decrypt(token) == b"hunter2-password"


def test_accepts_secretstr_and_whitespace_around_keys() -> None:
    key = generate_key()
    cipher = CredentialCipher.from_secret(SecretStr(f"  {key} , "))
    assert cipher.key_count == 1
    assert Fernet(key).decrypt(cipher.encrypt(b"x")) == b"x"


def test_first_key_encrypts_all_keys_decrypt() -> None:
    old, new = generate_key(), generate_key()
    old_token = CredentialCipher.from_secret(old).encrypt(b"secret")
    both = CredentialCipher.from_secret(f"{new},{old}")
    assert both.decrypt(old_token) == b"secret"
    assert not both.is_primary(old_token)
    fresh = both.encrypt(b"secret")
    assert Fernet(new).decrypt(fresh) == b"secret"
    assert both.is_primary(fresh)


def test_rotate_moves_token_to_primary_key() -> None:
    old, new = generate_key(), generate_key()
    token = CredentialCipher.from_secret(old).encrypt(b"secret")
    rotated = CredentialCipher.from_secret(f"{new},{old}").rotate(token)
    assert CredentialCipher.from_secret(new).decrypt(rotated) == b"secret"
    with pytest.raises(DecryptionError):
        CredentialCipher.from_secret(old).decrypt(rotated)


def test_wrong_key_gives_clear_error() -> None:
    token = CredentialCipher.from_secret(generate_key()).encrypt(b"secret")
    with pytest.raises(DecryptionError, match="cannot be decrypted"):
        CredentialCipher.from_secret(generate_key()).decrypt(token)


def test_tampered_token_is_rejected() -> None:
    cipher = CredentialCipher.from_secret(generate_key())
    token = bytearray(cipher.encrypt(b"secret"))
    token[-5] = ord("A") if token[-5] != ord("A") else ord("B")
    with pytest.raises(DecryptionError):
        cipher.decrypt(bytes(token))


@pytest.mark.parametrize("secret", [None, "", " , ,"])
def test_missing_key_is_a_clear_error(secret: str | None) -> None:
    with pytest.raises(SecretKeyError, match="VIGIL_SECRET_KEY"):
        CredentialCipher.from_secret(secret)


def test_malformed_key_error_names_position_and_never_the_key() -> None:
    good = generate_key()
    bad = "not-a-fernet-key-but-a-password-S3cr3t"
    with pytest.raises(SecretKeyError) as info:
        CredentialCipher.from_secret(f"{good},{bad}")
    message = str(info.value)
    assert "key 2 of 2" in message
    assert bad not in message
    assert good not in message
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_generate_key_is_a_fresh_valid_fernet_key() -> None:
    first, second = generate_key(), generate_key()
    assert first != second
    assert len(first) == 44
    Fernet(first)
