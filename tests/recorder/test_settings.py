"""The recorder's settings: from the environment once, a malformed URL refused at once, and
no process-wide side effects (SIGTERM) unless asked."""

import logging
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracewire.recorder import MemorySink, Recorder, RecorderSettings
from tracewire.recorder._records import Batch


def test_the_environment_names_the_database_org_spool_and_sigterm_handling() -> None:
    settings = RecorderSettings.from_env(
        {
            "TRACEWIRE_DATABASE_URL": "postgresql://u:pw@db.internal:5432/tw",
            "DATABASE_URL": "postgresql://ignored/db",
            "TRACEWIRE_ORG": "acme",
            "TRACEWIRE_SPOOL_DIR": "/var/spool/tw",
            "TRACEWIRE_EXIT_ON_SIGTERM": "true",
            "TRACEWIRE_ARTIFACT_INLINE_LIMIT": "0",
            "TRACEWIRE_S3_REGION": "",
        }
    )
    assert settings.database_url == "postgresql://u:pw@db.internal:5432/tw"
    assert (settings.org, settings.spool_dir) == ("acme", Path("/var/spool/tw"))
    assert settings.exit_on_sigterm
    assert settings.artifact_inline_limit is None  # 0 turns offloading off
    assert settings.s3.region is None  # empty counts as unset
    defaults = RecorderSettings.from_env({})
    assert (defaults.database_url, defaults.org, defaults.exit_on_sigterm) == (
        None,
        "default",
        False,
    )
    overridden = RecorderSettings.from_env({"TRACEWIRE_ORG": "acme"}, org="beta", spool=None)
    assert (overridden.org, overridden.spool) == ("beta", True)


def test_a_variable_that_does_not_parse_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="TRACEWIRE_EXIT_ON_SIGTERM"):
        RecorderSettings.from_env({"TRACEWIRE_EXIT_ON_SIGTERM": "maybe"})
    with pytest.raises(ValueError, match="TRACEWIRE_ARTIFACT_INLINE_LIMIT"):
        RecorderSettings.from_env({"TRACEWIRE_ARTIFACT_INLINE_LIMIT": "1MB"})


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("postgresql://...", "'...' is not a host name"),
        ("postgres://user:secret@-db/x", "'-db' is not a host name"),
        ("mysql://db.internal/x", "expected postgresql://host:port/db"),
        ("postgresql://db.internal:99999/x", "Port out of range"),
        ("postgresql:///x", "it names no host"),
    ],
)
def test_a_malformed_database_url_is_refused_when_the_recorder_is_made(
    url: str, complaint: str
) -> None:
    with pytest.raises(ValueError, match="invalid database URL") as raised:
        Recorder(url)
    assert complaint in str(raised.value)
    assert "secret" not in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:54320/tracewire",
        "postgresql+asyncpg://u:p@[::1]:5432/db",
        "postgresql:///tracewire?host=/run/postgresql",
        "postgres://db.example.com/x",
    ],
)
def test_well_formed_database_urls_are_taken(url: str) -> None:
    assert RecorderSettings(database_url=url).database_url == url


@pytest.fixture
def default_sigterm() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.usefixtures("default_sigterm")
def test_making_a_recorder_leaves_sigterm_to_the_application_unless_asked() -> None:
    assert threading.current_thread() is threading.main_thread()
    plain = Recorder(sink=MemorySink())
    try:
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        plain.close()
    asked = Recorder(sink=MemorySink(), settings=RecorderSettings(exit_on_sigterm=True))
    try:
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    finally:
        asked.close()


class _DownSink(MemorySink):
    """Refuses every batch until `up` is set, the way an unreachable database does."""

    destination = "postgresql://db.internal:5432/tw"

    def __init__(self) -> None:
        super().__init__()
        self.up = threading.Event()
        self.attempts = 0

    def write(self, batch: Batch) -> None:
        self.attempts += 1
        if not self.up.is_set():
            raise ConnectionRefusedError("connection refused")
        super().write(batch)


def test_an_unreachable_destination_is_said_once_and_its_return_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = _DownSink()
    settings = RecorderSettings(flush_interval=0.01, spool=False)
    caplog.set_level(logging.DEBUG, logger="tracewire.recorder")
    rec = Recorder(sink=sink, settings=settings)
    try:
        for i in range(3):
            with rec.run("bot") as run:
                run.info(f"attempt {i}")
            rec.flush(timeout=0.5)
        sink.up.set()
        assert rec.flush(timeout=30)
    finally:
        rec.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert sink.attempts >= 3
    assert [w for w in warnings if "cannot write" in w] == [
        "tracewire: cannot write to postgresql://db.internal:5432/tw (ConnectionRefusedError: "
        "connection refused); retrying in the background, spooling to disk if it lasts"
    ]
    assert len([w for w in warnings if "again after" in w]) == 1
