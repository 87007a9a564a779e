"""Camera secrets: encrypted at rest, never printed, rotatable, never taken from argv."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

from vigil_cli import camera_store
from vigil_cli.camera_models import NewCamera
from vigil_cli.main import cli
from vigil_runtime.crypto import CredentialCipher, SecretKeyError, generate_key
from vigil_schema.camera import CameraCredentials
from vigil_schema.roles import CLI

PASSWORD = "S3cret-Pa55word"
STREAM_PASSWORD = "str3am-Pa55"
RTSP_URL = f"rtsp://viewer:{STREAM_PASSWORD}@10.0.0.7:554/stream1"


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
def vigil(role_database_url: Callable[[str], str], tmp_path: Path, key: str):
    base = {
        "VIGIL_DATABASE_URL": role_database_url(CLI),  # the CLI's own role
        "VIGIL_SECRET_KEY": key,
        "VIGIL_ENV_FILE": str(tmp_path / "absent.env"),
    }

    def invoke(*args: str, stdin: str | None = None, **extra: str | None) -> Result:
        return CliRunner().invoke(cli, list(args), env={**base, **extra}, input=stdin)

    return invoke


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def add_with_secrets(vigil, camera_id: str = "cam1") -> None:
    ok(
        vigil(
            "cameras", "add", camera_id, "--name", "Gate", "--username", "admin",
            "--password-stdin", "--rtsp-url-env", "CAM_URL",
            stdin=f"{PASSWORD}\n", CAM_URL=RTSP_URL,
        )
    )  # fmt: skip


def stored_tokens(url: str, camera_id: str = "cam1") -> tuple[bytes, bytes]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT credentials_encrypted, connection_string_encrypted FROM cameras WHERE id = %s",
            (camera_id,),
        ).fetchone()
    assert row is not None
    return bytes(row[0]), bytes(row[1])


def test_database_never_holds_secrets_in_clear(vigil, database_url: str, key: str) -> None:
    add_with_secrets(vigil)
    credentials, connection = stored_tokens(database_url)
    for token in (credentials, connection):
        assert PASSWORD.encode() not in token
        assert STREAM_PASSWORD.encode() not in token
        assert b"admin" not in token
    cipher = CredentialCipher.from_secret(key)
    decrypted = CameraCredentials.from_json_bytes(cipher.decrypt(credentials))
    assert decrypted.username == "admin"
    assert decrypted.password.get_secret_value() == PASSWORD
    assert cipher.decrypt(connection).decode() == RTSP_URL

    with psycopg.connect(database_url) as conn:
        dump = conn.execute("SELECT details::text FROM audit_log").fetchall()
    assert dump
    assert all(PASSWORD not in row[0] and STREAM_PASSWORD not in row[0] for row in dump)


def test_password_from_environment_variable(vigil, database_url: str, key: str) -> None:
    ok(
        vigil(
            "cameras", "add", "cam1", "--name", "x", "--username", "op",
            "--password-env", "CAM_PW", CAM_PW=PASSWORD,
        )
    )  # fmt: skip
    credentials, _ = stored_tokens_or_none(database_url)
    decrypted = CredentialCipher.from_secret(key).decrypt(credentials)
    assert json.loads(decrypted) == {"username": "op", "password": PASSWORD}


def stored_tokens_or_none(url: str) -> tuple[bytes, bytes | None]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT credentials_encrypted, connection_string_encrypted FROM cameras"
        ).fetchone()
    assert row is not None
    return bytes(row[0]), row[1]


def test_show_never_prints_the_password(vigil) -> None:
    add_with_secrets(vigil)
    text = ok(vigil("cameras", "show", "cam1")).output
    assert "credentials:" in text
    assert "set (user: admin)" in text
    assert "rtsp://viewer:***@10.0.0.7:554/stream1" in text
    as_json = ok(vigil("cameras", "show", "cam1", "--json")).output
    assert json.loads(as_json)["credentials"] == {"set": True, "username": "admin"}
    listed = ok(vigil("cameras", "list", "--json")).output + ok(vigil("cameras", "list")).output
    for output in (text, as_json, listed):
        assert PASSWORD not in output
        assert STREAM_PASSWORD not in output


def test_show_without_key_says_secrets_are_set_but_hidden(vigil) -> None:
    add_with_secrets(vigil)
    text = ok(vigil("cameras", "show", "cam1", VIGIL_SECRET_KEY=None)).output
    assert "VIGIL_SECRET_KEY not set" in text
    assert "admin" not in text
    wrong = ok(vigil("cameras", "show", "cam1", VIGIL_SECRET_KEY=generate_key())).output
    assert "do not decrypt" in wrong


def test_missing_key_is_a_clear_error_when_credentials_are_given(vigil, database_url) -> None:
    result = vigil(
        "cameras", "add", "cam1", "--name", "x", "--username", "admin", "--password-stdin",
        stdin=f"{PASSWORD}\n", VIGIL_SECRET_KEY=None,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "VIGIL_SECRET_KEY is not set" in result.output
    assert PASSWORD not in result.output
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM cameras").fetchone() == (0,)
    ok(vigil("cameras", "add", "cam1", "--name", "x", VIGIL_SECRET_KEY=None))


def test_malformed_key_is_a_clear_error_without_the_key(vigil) -> None:
    bad_key = "my-password-is-not-a-fernet-key"
    result = vigil(
        "cameras", "add", "cam1", "--name", "x", "--username", "admin", "--password-env",
        "PW", PW=PASSWORD, VIGIL_SECRET_KEY=bad_key,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "not a valid Fernet key" in result.output
    assert bad_key not in result.output


def test_passwords_are_never_plain_arguments(vigil) -> None:
    no_option = vigil("cameras", "add", "cam1", "--name", "x", "--password", PASSWORD)
    assert no_option.exit_code == 2
    assert "No such option" in no_option.output
    no_password = vigil("cameras", "add", "cam1", "--name", "x", "--username", "admin")
    assert no_password.exit_code == 2
    assert "--password-stdin" in no_password.output
    url_with_password = vigil("cameras", "add", "cam1", "--name", "x", "--rtsp-url", RTSP_URL)
    assert url_with_password.exit_code == 2
    assert "--rtsp-url-env" in url_with_password.output
    assert STREAM_PASSWORD not in url_with_password.output
    unset_env = vigil(
        "cameras", "add", "cam1", "--name", "x", "--username", "a", "--password-env", "NOPE"
    )
    assert unset_env.exit_code == 2
    assert "NOPE" in unset_env.output


def test_plain_rtsp_url_without_password_is_accepted(vigil) -> None:
    ok(vigil("cameras", "add", "cam1", "--name", "x", "--rtsp-url", "rtsp://10.0.0.9/live"))
    assert "rtsp://10.0.0.9/live" in ok(vigil("cameras", "show", "cam1")).output
    bad = vigil("cameras", "add", "cam2", "--name", "x", "--rtsp-url", "not a url")
    assert bad.exit_code == 2
    assert "connection string must be a URL" in bad.output


def test_set_replaces_and_clears_credentials(vigil, database_url: str, key: str) -> None:
    add_with_secrets(vigil)
    ok(
        vigil(
            "cameras", "set", "cam1", "--username", "root", "--password-stdin",
            stdin="n3w-pass\n",
        )
    )  # fmt: skip
    credentials, _ = stored_tokens(database_url)
    assert b"n3w-pass" not in credentials
    assert json.loads(CredentialCipher.from_secret(key).decrypt(credentials))["username"] == "root"
    ok(vigil("cameras", "set", "cam1", "--clear-credentials", "--clear-rtsp-url"))
    text = ok(vigil("cameras", "show", "cam1")).output
    assert "set (user" not in text
    with psycopg.connect(database_url) as conn:
        changes = conn.execute(
            "SELECT details->'changes' FROM audit_log WHERE action = 'camera.set' ORDER BY id"
        ).fetchall()
    assert changes[0][0] == {"credentials": "replaced"}
    assert changes[1][0] == {"credentials": "cleared", "connection_string": "cleared"}


def test_rotate_credentials_with_a_new_key_prepended(vigil, database_url: str, key: str) -> None:
    add_with_secrets(vigil, "cam1")
    add_with_secrets(vigil, "cam2")
    ok(vigil("cameras", "add", "plain", "--name", "no secrets"))
    new_key = generate_key()

    rotated = ok(vigil("cameras", "rotate-credentials", VIGIL_SECRET_KEY=f"{new_key},{key}"))
    assert "re-encrypted 4 secret(s) of 2 camera(s)" in rotated.output

    new_only = CredentialCipher.from_secret(new_key)
    for camera_id in ("cam1", "cam2"):
        credentials, connection = stored_tokens(database_url, camera_id)
        assert PASSWORD in new_only.decrypt(credentials).decode()
        assert new_only.decrypt(connection).decode() == RTSP_URL
    shown = ok(vigil("cameras", "show", "cam1", VIGIL_SECRET_KEY=new_key)).output
    assert "set (user: admin)" in shown

    again = ok(vigil("cameras", "rotate-credentials", VIGIL_SECRET_KEY=f"{new_key},{key}"))
    assert "re-encrypted 0 secret(s)" in again.output
    with psycopg.connect(database_url) as conn:
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'camera.rotate_credentials'"
        ).fetchone()
    assert audited == (2,)


def test_rotate_with_a_key_that_cannot_decrypt_changes_nothing(vigil, database_url) -> None:
    add_with_secrets(vigil)
    before = stored_tokens(database_url)
    result = vigil("cameras", "rotate-credentials", VIGIL_SECRET_KEY=generate_key())
    assert result.exit_code == 1
    assert "camera 'cam1'" in result.output
    assert "nothing was changed" in result.output
    assert stored_tokens(database_url) == before


def test_rotate_without_key_is_a_clear_error(vigil) -> None:
    result = vigil("cameras", "rotate-credentials", VIGIL_SECRET_KEY=None)
    assert result.exit_code == 1
    assert "VIGIL_SECRET_KEY is not set" in result.output


def test_generate_key_prints_a_usable_key(vigil) -> None:
    key = ok(vigil("cameras", "generate-key")).output.strip()
    assert CredentialCipher.from_secret(key).key_count == 1


def test_store_api_for_other_commands(database_url: str, key: str) -> None:
    """`vigil demo` registers cameras through camera_store directly."""
    cipher = CredentialCipher.from_secret(key)
    secret = NewCamera(
        id="demo-1",
        name="Demo",
        credentials=CameraCredentials(username="u", password=PASSWORD),
    )
    with psycopg.connect(database_url) as conn:
        plain = camera_store.add_camera(
            conn, NewCamera(id="demo-0", name="Demo"), cipher=None, actor="demo"
        )
        assert plain.id == "demo-0"
        assert not plain.has_credentials
        with pytest.raises(SecretKeyError):
            camera_store.add_camera(conn, secret, cipher=None, actor="demo")
        record = camera_store.add_camera(conn, secret, cipher=cipher, actor="demo")
        assert record.has_credentials
        with pytest.raises(camera_store.CameraExistsError):
            camera_store.add_camera(conn, secret, cipher=cipher, actor="demo")
        listed = camera_store.list_cameras(conn)
    assert [camera.id for camera in listed] == ["demo-0", "demo-1"]
