"""Running Tracewire: `serve` (uvicorn + the app + optionally the demo agent) and
`record_demo`, both on the database `open_database` provides (the embedded PostgreSQL by
default).

SIGINT and SIGTERM stop either one cleanly: the server drains, the demo agent stops, and an
embedded PostgreSQL this process started is stopped unless another process still uses it.
"""

import asyncio
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import FrameType
from typing import Any, Self

import asyncpg
import uvicorn

from tracewire.api.login_links import LOGIN_TOKEN_TTL, LoginLinks
from tracewire.api.settings import ServerSettings
from tracewire.db import migrate
from tracewire.db.embedded import DATABASE_NAME, EmbeddedPostgres, ensure_database
from tracewire.db.engine import driver_dsn
from tracewire.db.loopback import LoopbackPort
from tracewire.demo.background import DEMO_API_KEY, DEMO_ORG, DEMO_PUBLIC_KEY, DemoAgent
from tracewire.recorder.settings import redact_url

logger = logging.getLogger(__name__)

# Long enough for in-flight requests, short enough that SIGTERM ends us in seconds even with
# GraphiQL's websockets open.
GRACEFUL_SHUTDOWN_SECONDS = 5


class StartupError(Exception):
    """Something the user can fix (port taken, database unreachable...): the CLI prints it as
    one line, without a traceback."""


@dataclass(frozen=True, slots=True)
class Database:
    url: str
    description: str  # for people: "embedded PostgreSQL in PATH", or the URL, password masked
    # What an agent in another process records into (a TCP URL), fit to print; None when
    # there is none (the embedded server without its loopback port).
    agent_url: str | None = None


@contextmanager
def open_database(settings: ServerSettings, *, for_agents: bool = False) -> Iterator[Database]:
    """The settings' database, checked reachable; without a URL, the embedded PostgreSQL
    under the data dir, started (or joined, when another process runs it) for the duration.
    With `for_agents`, the embedded server is also offered on a loopback TCP port
    (`settings.embedded_port`, or a free one when that is taken)."""
    if settings.database_url is not None:
        asyncio.run(check_database(settings.database_url))
        shown = redact_url(settings.database_url)
        yield Database(settings.database_url, shown, agent_url=shown)
        return
    embedded = EmbeddedPostgres(settings.embedded_pgdata)
    loopback: LoopbackPort | None = None
    try:
        try:
            server_url = embedded.start()
        except Exception as exc:
            raise StartupError(
                f"cannot start the embedded PostgreSQL in {embedded.pgdata}: {exc} "
                f"(its log: {embedded.pgdata / 'log'})"
            ) from exc
        url = asyncio.run(ensure_database(server_url))
        agent_url = None
        if for_agents and settings.embedded_port:
            loopback, port = _open_loopback(embedded, settings.embedded_port)
            agent_url = f"postgresql://postgres@127.0.0.1:{port}/{DATABASE_NAME}"
        yield Database(url, f"embedded PostgreSQL in {embedded.pgdata}", agent_url)
    finally:
        if loopback is not None:
            loopback.close()
        embedded.stop()


def _open_loopback(embedded: EmbeddedPostgres, port: int) -> tuple[LoopbackPort, int]:
    try:
        loopback = LoopbackPort(embedded.socket_path(), port)
        return loopback, loopback.start()
    except OSError as exc:
        logger.warning("port %d is taken (%s); agents get a free port instead", port, exc)
    loopback = LoopbackPort(embedded.socket_path(), 0)
    return loopback, loopback.start()


async def check_database(url: str) -> None:
    try:
        conn = await asyncpg.connect(driver_dsn(url), timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise StartupError(f"cannot connect to {redact_url(url)}: {reason}") from None
    except ValueError as exc:
        raise StartupError(f"invalid database URL {redact_url(url)}: {exc}") from None
    await conn.close()


class _Signals:
    """SIGINT and SIGTERM raise KeyboardInterrupt, so the `finally` blocks that stop the
    embedded PostgreSQL run on both. While uvicorn serves, it handles both itself and re-sends
    them to us after its graceful shutdown: those only tell it (again) to exit."""

    def __init__(self) -> None:
        self.server: uvicorn.Server | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Self:
        # Handlers can only be set on the main thread (tests run the CLI on another).
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.server is None:
            raise KeyboardInterrupt
        self.server.handle_exit(signum, frame)


def _configure_logging() -> None:
    """Each line with its level and logger, like uvicorn's own: the server's from INFO up (a
    client's refused request is one INFO line), libraries' from WARNING up."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s:  %(name)s: %(message)s")
    logging.getLogger("tracewire").setLevel(logging.INFO)


def serve(settings: ServerSettings) -> int:
    """Run the server until SIGINT/SIGTERM; return the exit code."""
    _configure_logging()
    if settings.demo and settings.anonymous_org is None:
        settings = replace(settings, anonymous_org=DEMO_ORG)
    with (
        _listen(settings.host, settings.port) as sock,
        _Signals() as signals,
        open_database(settings, for_agents=True) as database,
    ):
        # Imported here so that `tracewire db` and `tracewire demo` skip the GraphQL schema.
        from tracewire.api.app import create_app, otlp_grpc_port

        login_links = LoginLinks(settings.login_org) if settings.login_org else None
        asyncio.run(_demo_key(database.url, active=settings.demo))
        app = create_app(settings.with_database(database.url), login_links)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            lifespan="on",
            ws_ping_interval=20.0,
            ws_ping_timeout=20.0,
            # Compressing each live message for each subscriber cost a fifth of the
            # server's CPU with a hundred viewers; live frames are small and local.
            ws_per_message_deflate=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            access_log=False,
        )
        # The demo records over HTTP with its key, as an agent elsewhere would; its
        # artifacts go through the server too.
        demo = (
            DemoAgent(
                _server_url(settings),
                api_key=DEMO_API_KEY,
                runs_per_second=settings.demo_runs_per_second,
            )
            if settings.demo
            else None
        )

        def started() -> None:
            login_token = login_links.issue() if login_links is not None else None
            print(_banner(settings, database, login_token, otlp_grpc_port(app)), flush=True)
            if demo is not None:
                demo.start()

        server = _Server(config, on_started=started)
        signals.server = server
        try:
            # uvicorn's loop choice (uvloop when installed), as `uvicorn.run` would make.
            with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
                runner.run(server.serve(sockets=[sock]))
        except SystemExit as exc:  # uvicorn's way of saying the app failed to start
            raise StartupError("the server did not start; the log above says why") from exc
        finally:
            signals.server = None
            if demo is not None:
                demo.stop()
    return 0


async def _demo_key(database_url: str, *, active: bool) -> None:
    """The published demo key works while the server runs the demo, and only then: a
    server started later on the same database without --demo revokes it."""
    # Imported here, like the app: `tracewire db` and `tracewire demo` skip the server.
    from tracewire.api.keys import ensure_api_key, revoke_api_key
    from tracewire.db.engine import create_engine, session_factory

    await migrate.upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            if active:
                await ensure_api_key(session, DEMO_ORG, DEMO_PUBLIC_KEY, DEMO_API_KEY, "demo")
            else:
                await revoke_api_key(session, DEMO_PUBLIC_KEY)
    finally:
        await engine.dispose()


def _server_url(settings: ServerSettings) -> str:
    return f"http://{_browsable(settings.host)}:{settings.port}"


def record_demo(
    settings: ServerSettings, *, org: str, runs_per_second: float, max_runs: int | None
) -> int:
    """Record demo runs into the settings' database until Ctrl-C or `max_runs`."""
    with _Signals(), open_database(settings) as database:
        # The demo may be the first to use this database (an embedded one especially).
        asyncio.run(migrate.upgrade(database.url))
        print(f"Recording demo runs into {database.description}, org {org!r}; Ctrl-C stops.")
        demo = DemoAgent(
            database.url,
            org=org,
            runs_per_second=runs_per_second,
            max_runs=max_runs,
            store=settings.artifact_store_config,
            notify_url=settings.notify_url,
        )
        demo.start()
        try:
            demo.wait()
        except KeyboardInterrupt:
            pass
        finally:
            runs = demo.stop()
    print(f"Recorded {runs} run{'' if runs == 1 else 's'}.")
    return 1 if demo.failed else 0


class _Server(uvicorn.Server):
    """uvicorn's server, calling `on_started` once it listens and the app has started."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self._on_started()


def _listen(host: str, port: int) -> socket.socket:
    """Bind before anything slow starts, so a taken port fails at once and clearly."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _banner(
    settings: ServerSettings, database: Database, login_token: str | None, grpc_port: int | None
) -> str:
    base = _server_url(settings)
    lines = [
        "",
        "Tracewire is running.",
        f"    Web UI:   {base}/",
        f"    GraphiQL: {base}/graphql",
        f"    OTLP:     {base}/v1/traces (HTTP)",
    ]
    if grpc_port is not None:
        lines.append(f"    OTLP:     {_browsable(settings.host)}:{grpc_port} (gRPC, no TLS)")
    lines.append(f"    Database: {database.description}")
    if settings.demo:
        lines.append(
            f"    Demo:     a demo agent records {settings.demo_runs_per_second:g} runs/s "
            f"into org {DEMO_ORG!r}, over HTTP with its key"
        )
    lines += _recording_lines(settings, database)
    if settings.demo and not _is_loopback(settings.host):
        lines.append(
            f"WARNING: the demo key {DEMO_API_KEY} is published: anyone who reaches "
            f"{settings.host}:{settings.port} can record into org {DEMO_ORG!r}."
        )
    if settings.anonymous_org is not None:
        lines.append(
            f"WARNING: anonymous access is on: requests without an API key read org "
            f"{settings.anonymous_org!r}."
        )
    if login_token is not None:
        lines.append(
            f"Sign in to the web UI as org {settings.login_org!r} with this one-time link "
            f"(valid {LOGIN_TOKEN_TTL / 60:g} minutes):\n    {base}/?login={login_token}"
        )
    lines += ["Press Ctrl-C to stop.", ""]
    return "\n".join(lines)


def _recording_lines(settings: ServerSettings, database: Database) -> list[str]:
    """What an agent needs to record into this server, ready to paste: over HTTP with a
    key (the demo's, or one to create), or straight into its database."""
    base = _server_url(settings)
    if settings.demo:
        key, whose = DEMO_API_KEY, f"as org {DEMO_ORG!r}, which the web UI shows"
    else:
        key, whose = "<secret key>", "with a key of your org (tracewire keys create --org ORG)"
    lines = [
        f"Record an agent into it {whose} (pip install tracewire):",
        "    from tracewire import Recorder",
        f'    rec = Recorder("{base}", api_key="{key}")',
        f"  or Recorder.from_env() with TRACEWIRE_URL={base} TRACEWIRE_API_KEY={key}",
    ]
    if database.agent_url is not None:
        org = settings.anonymous_org or "<your org>"
        lines.append(
            f"  or straight into its database (pip install 'tracewire[postgres]'): "
            f'Recorder("{database.agent_url}", org="{org}")'
        )
        if "***" in database.agent_url:
            lines.append("  (with the database's password in place of ***)")
    return lines


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _browsable(host: str) -> str:
    """A host a browser can open: wildcard addresses become loopback."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
