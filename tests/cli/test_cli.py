"""`tracewire`: db commands in-process, user mistakes as one line, and `serve` as a real
process on a loopback port, stopped by SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests._poll import wait_until_blocking
from tests._server import STARTUP_TIMEOUT, STOP_TIMEOUT, free_port
from tests.conftest import create_database, drop_database
from tracewire.cli.commands import main
from tracewire.db import migrate

TRACEWIRE = Path(sys.executable).with_name("tracewire")
HEAD = migrate.heads_label()
# OTLP/gRPC's default port is one per machine, which other test sessions want too.
NO_GRPC = ("--grpc-port", "off")


def run_cli(*argv: str) -> int:
    """`tracewire ARGV` in-process, on a thread of its own: the CLI calls `asyncio.run`,
    which must not touch the thread that runs the test session's event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(main, list(argv)).result()


@pytest.fixture
async def fresh_database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """An empty database (no schema), dropped after the test."""
    url = await create_database(postgres_server_url)
    try:
        yield url
    finally:
        await drop_database(postgres_server_url, url)


def test_db_upgrade_current_and_downgrade_move_and_report_the_revision(
    fresh_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--database-url", fresh_database_url]

    assert run_cli("db", "current", *url) == 0
    assert capsys.readouterr().out == "base\n"

    assert run_cli("db", "upgrade", *url) == 0
    assert f"is at revision {HEAD} (head)" in capsys.readouterr().out
    assert run_cli("db", "current", *url) == 0
    assert capsys.readouterr().out == f"{HEAD} (head)\n"

    assert run_cli("db", "downgrade", "base", *url) == 0
    assert "is at revision base" in capsys.readouterr().out
    assert run_cli("db", "current", *url) == 0
    assert capsys.readouterr().out == "base\n"


def test_db_output_never_shows_the_password(
    fresh_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with_password = make_url(fresh_database_url).set(password="s3cret-pw").render_as_string(False)

    assert run_cli("db", "upgrade", "--database-url", with_password) == 0
    assert "s3cret-pw" not in capsys.readouterr().out


def test_db_commands_without_a_url_use_the_embedded_postgres_and_stop_it_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pgdata = (tmp_path / "pgdata").resolve()

    assert run_cli("db", "upgrade", "--data-dir", str(tmp_path)) == 0
    assert (
        capsys.readouterr().out == f"embedded PostgreSQL in {pgdata} is at revision {HEAD} (head)\n"
    )
    assert not (pgdata / "postmaster.pid").exists()

    assert run_cli("db", "current", "--data-dir", str(tmp_path)) == 0
    assert capsys.readouterr().out == f"{HEAD} (head)\n"


def test_demo_migrates_an_empty_database_and_records_the_runs_asked_for(
    fresh_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--database-url", fresh_database_url, "--org", "cli-demo", "--runs", "2"]
    assert run_cli("demo", *args, "--rate", "20") == 0
    assert capsys.readouterr().out.endswith("Recorded 2 runs.\n")


@pytest.mark.parametrize("port", ["70000", "0", "http"])
def test_a_bad_port_is_a_usage_error_on_one_line(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--port", port]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--port" in err
    assert "not a port number" in err


def test_a_database_url_that_is_not_postgres_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["db", "current", "--database-url", "mysql://root@localhost/x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "postgresql://" in err


def test_an_unreachable_database_is_one_line_without_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"postgresql://postgres:pw@127.0.0.1:{free_port()}/tracewire"
    assert run_cli("db", "upgrade", "--database-url", url) == 1
    assert run_cli("serve", "--port", str(free_port()), "--database-url", url) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 2
    assert err.startswith("tracewire: error: cannot connect to postgresql://postgres:***@")
    assert "Traceback" not in err


def test_serving_on_a_taken_port_fails_at_once_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = run_cli("serve", "--port", str(port), "--database-url", "postgresql://x@h/db")
    assert code == 1
    err = capsys.readouterr().err
    assert err == f"tracewire: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_serve_answers_graphql_and_stops_cleanly_on_sigterm(
    fresh_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    args = ["--port", str(port), "--database-url", fresh_database_url, *NO_GRPC]
    with _serving(tmp_path, *args, "--anonymous-org", "cli-test") as server:
        base = _wait_until_healthy(server, port)
        result = _graphql(base, "{ runs(first: 5) { totalCount } }")
        assert result == {"data": {"runs": {"totalCount": 0}}}

        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(timeout=STOP_TIMEOUT)
        output = server.output()

    assert code == 0, output
    assert f"GraphiQL: http://127.0.0.1:{port}/graphql" in output
    assert "requests without an API key read org 'cli-test'" in output
    # What an agent needs to record into this server: its URL and a key (or, straight
    # into its database, the database and the org the UI shows).
    assert "Record an agent into it with a key of your org (tracewire keys create" in output
    assert f'Recorder("http://127.0.0.1:{port}", api_key="<secret key>")' in output
    assert f"TRACEWIRE_URL=http://127.0.0.1:{port} TRACEWIRE_API_KEY=<secret key>" in output
    assert 'org="cli-test")' in output
    assert "Traceback" not in output


def test_serve_with_demo_streams_runs_with_ordered_steps_and_failed_nodes(
    fresh_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    args = ["--port", str(port), "--database-url", fresh_database_url, *NO_GRPC]
    with _serving(tmp_path, *args, "--demo", "--demo-rate", "5") as server:
        base = _wait_until_healthy(server, port)
        query = """{ runs(first: 50) { totalCount nodes {
            status failedNodes steps(first: 200) { nodes { seq } } } } }"""
        runs: list[dict[str, Any]] = []

        def failed_runs() -> list[dict[str, Any]]:
            result = _graphql(base, query)
            assert "errors" not in result, result
            runs[:] = result["data"]["runs"]["nodes"]
            return [run for run in runs if run["status"] == "FAILED" and run["failedNodes"]]

        failed = wait_until_blocking(
            failed_runs, within=120, every=0.5, what=lambda: f"no failed run:\n{server.output()}"
        )

        for run in runs:
            seqs = [step["seq"] for step in run["steps"]["nodes"]]
            assert seqs == list(range(1, len(seqs) + 1))
        assert any(run["steps"]["nodes"] for run in failed)

        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(timeout=STOP_TIMEOUT)
        output = server.output()

    assert code == 0, output
    assert "anonymous access is on: requests without an API key read org 'demo'" in output
    # The demo records over HTTP with the published demo key, which the banner prints.
    assert f'Recorder("http://127.0.0.1:{port}", api_key="sk-tw-demo")' in output
    assert "Traceback" not in output


@dataclass
class _Served:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def test_the_published_demo_key_works_only_while_the_server_runs_the_demo(
    fresh_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    args = ["--port", str(port), "--database-url", fresh_database_url, *NO_GRPC]
    key = {"Authorization": "Bearer sk-tw-demo", "Content-Type": "application/json"}
    for demo, status in ((["--demo"], 200), ([], 401)):
        with _serving(tmp_path, *args, *demo) as server:
            base = _wait_until_healthy(server, port)
            answer = httpx.post(
                f"{base}/v1/ingest/heartbeat", content=b'{"runs": []}', headers=key, timeout=10
            )
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=STOP_TIMEOUT) == 0, server.output()
        assert answer.status_code == status, answer.text


@contextmanager
def _serving(tmp_path: Path, *args: str) -> Iterator[_Served]:
    """`tracewire serve ARGS` as a real process, its output in a file (a pipe could fill),
    with no server settings from our environment."""
    assert TRACEWIRE.exists(), "install the package first: make .venv/.installed-dev"
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "DATABASE_URL" and not name.startswith("TRACEWIRE_")
    }
    env["TRACEWIRE_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONUNBUFFERED"] = "1"
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(TRACEWIRE), "serve", *args],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            yield _Served(process, log)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def _wait_until_healthy(server: _Served, port: int) -> str:
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert server.process.poll() is None, f"the server exited:\n{server.output()}"
        try:
            return httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    wait_until_blocking(
        healthy, within=STARTUP_TIMEOUT, every=0.1, what=lambda: f"not healthy:\n{server.output()}"
    )
    return base


def _graphql(base: str, query: str) -> dict[str, Any]:
    response = httpx.post(f"{base}/graphql", json={"query": query}, timeout=10)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result
