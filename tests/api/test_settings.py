"""The server's settings: the environment once, flags over it, and a clear error naming
the variable that does not parse."""

from pathlib import Path

import pytest

from tracewire.api.settings import DEFAULT_EMBEDDED_PORT, ServerSettings


def test_the_environment_sets_what_flags_do_not() -> None:
    env = {
        "DATABASE_URL": "postgresql://tw:pw@db.internal:5432/tw",
        "TRACEWIRE_DATA_DIR": "~/tw-data",
        "TRACEWIRE_PORT": "9000",
        "TRACEWIRE_STALL_AFTER": "30.5",
        "TRACEWIRE_NOTIFY_URL": "redis://127.0.0.1:6379/0",
        "TRACEWIRE_EMBEDDED_PORT": "off",
        "TRACEWIRE_S3_ENDPOINT_URL": "",
    }
    settings = ServerSettings.from_env(env, port=9100, anonymous_org=None)
    assert settings.database_url == "postgresql://tw:pw@db.internal:5432/tw"
    assert settings.data_dir == Path("~/tw-data").expanduser()
    assert settings.port == 9100  # the flag wins; a flag not given (None) does not
    assert settings.stall_after == 30.5
    assert settings.notify_url == "redis://127.0.0.1:6379/0"
    assert settings.embedded_port == 0
    assert settings.s3.endpoint_url is None
    assert ServerSettings.from_env({}).embedded_port == DEFAULT_EMBEDDED_PORT


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("TRACEWIRE_PORT", "eighty", "Config 'TRACEWIRE_PORT' has value 'eighty'"),
        ("TRACEWIRE_PORT", "70000", "port must be 1-65535"),
        ("TRACEWIRE_STALL_AFTER", "2m", "TRACEWIRE_STALL_AFTER"),
        ("TRACEWIRE_EMBEDDED_PORT", "x", "TRACEWIRE_EMBEDDED_PORT"),
        ("DATABASE_URL", "mysql://db/x", "DATABASE_URL must be a postgresql:// URL"),
        ("TRACEWIRE_NOTIFY_URL", "nats://x", "redis://"),
        ("TRACEWIRE_ARTIFACT_MAX_UPLOAD_BYTES", "5GB", "TRACEWIRE_ARTIFACT_MAX_UPLOAD_BYTES"),
        ("TRACEWIRE_ARTIFACT_MAX_UPLOAD_BYTES", "0", "upload cap must be a positive"),
        ("TRACEWIRE_ARTIFACT_STORE", "http://other:8000", "must be an s3:// URL or a directory"),
    ],
)
def test_a_bad_variable_is_a_clear_error(name: str, value: str, complaint: str) -> None:
    with pytest.raises(ValueError) as raised:
        ServerSettings.from_env({name: value})
    assert complaint in str(raised.value)


def test_the_request_body_cap_is_read_from_the_environment_and_checked() -> None:
    assert ServerSettings().max_request_bytes == 2 * 1024**2
    read = ServerSettings.from_env({"TRACEWIRE_MAX_REQUEST_BYTES": "65536"})
    assert read.max_request_bytes == 65536
    with pytest.raises(ValueError, match="request body cap"):
        ServerSettings(max_request_bytes=10)
