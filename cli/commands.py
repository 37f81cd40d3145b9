"""`tracewire`: the command line, and the one place that reads the environment (through
`ServerSettings.from_env`).

    tracewire serve [--host] [--port] [--data-dir] [--database-url] [--artifact-store]
                    [--anonymous-org ORG] [--demo] [--demo-rate RUNS_PER_SECOND]
                    [--login-org ORG] [--grpc-port PORT|off]
    tracewire demo [--database-url] [--data-dir] [--org demo] [--rate 2] [--runs N]
    tracewire db upgrade [--revision head] | db downgrade REVISION | db current
    tracewire keys create --org ORG [--name NAME] | keys list [--org ORG] | keys revoke PUBLIC_KEY

Mistakes a user can make (a bad flag, an unreachable database, a taken port) end with one
line on stderr and a non-zero exit code, never a traceback.
"""

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from alembic.util import CommandError

from tracewire.api.ports import PortTaken
from tracewire.api.settings import ServerSettings, port_or_off
from tracewire.cli import keys as _keys_cli
from tracewire.cli import serve as server
from tracewire.db import migrate
from tracewire.demo.background import DEMO_ORG

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _UsageError(Exception):
    def __init__(self, prog: str, message: str) -> None:
        super().__init__(f"{prog}: error: {message} (see {prog} --help)")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print the usage too and exit; one line, and returning, serve better.
        raise _UsageError(self.prog, message)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except _UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except (server.StartupError, PortTaken, CommandError) as exc:
        return _fail(f"tracewire: error: {exc}", EXIT_ERROR)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(
        args,
        host=args.host,
        port=args.port,
        artifact_store=args.artifact_store,
        anonymous_org=args.anonymous_org,
        demo=args.demo,
        demo_runs_per_second=args.demo_rate,
        notify_url=args.notify_url,
        stall_after=args.stall_after,
        login_org=args.login_org,
        embedded_port=args.embedded_port,
        grpc_port=args.grpc_port,
    )
    return server.serve(settings)


def _demo(args: argparse.Namespace) -> int:
    return server.record_demo(
        _settings(args), org=args.org, runs_per_second=args.rate, max_runs=args.runs
    )


def _db(args: argparse.Namespace) -> int:
    with server.open_database(_settings(args)) as database:
        if args.db_command == "upgrade":
            asyncio.run(migrate.upgrade(database.url, args.revision))
        elif args.db_command == "downgrade":
            asyncio.run(migrate.downgrade(database.url, args.revision))
        revision = asyncio.run(migrate.current_revision(database.url))
    shown = f"{revision or 'base'}{' (head)' if revision == migrate.heads_label() else ''}"
    if args.db_command == "current":
        print(shown)
    else:
        print(f"{database.description} is at revision {shown}")
    return 0


def _keys(args: argparse.Namespace) -> int:
    with server.open_database(_settings(args)) as database:
        if args.keys_command == "create":
            return _keys_cli.create(database.url, args.org, args.name)
        if args.keys_command == "list":
            return _keys_cli.list_keys(database.url, args.org)
        return _keys_cli.revoke(database.url, args.public_key)


def _settings(args: argparse.Namespace, **flags: object) -> ServerSettings:
    try:
        return ServerSettings.from_env(
            os.environ, database_url=args.database_url, data_dir=args.data_dir, **flags
        )
    except ValueError as exc:
        raise _UsageError("tracewire", f"invalid setting: {exc}") from None


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tracewire", description="Self-hosted observability for LLM agents.")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    database = _Parser(add_help=False)
    database.add_argument(
        "--database-url",
        metavar="URL",
        help="postgresql://... (default: $DATABASE_URL, else the embedded PostgreSQL)",
    )
    database.add_argument(
        "--data-dir",
        type=_path,
        metavar="DIR",
        help="where the embedded PostgreSQL and local artifacts live ($TRACEWIRE_DATA_DIR)",
    )

    serve = commands.add_parser(
        "serve", parents=[database], help="run the server (GraphQL, GraphiQL, ingestion)"
    )
    serve.set_defaults(command=_serve)
    serve.add_argument("--host", help="address to listen on ($TRACEWIRE_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port to listen on ($TRACEWIRE_PORT, 8000)")
    serve.add_argument(
        "--artifact-store",
        metavar="URL_OR_DIR",
        help="s3://bucket/prefix or a directory ($TRACEWIRE_ARTIFACT_STORE)",
    )
    serve.add_argument(
        "--anonymous-org",
        metavar="ORG",
        help="let requests without an API key read this org ($TRACEWIRE_ANONYMOUS_ORG)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        default=None,
        help="also run a demo agent (anonymous access to org 'demo' unless --anonymous-org)",
    )
    serve.add_argument(
        "--demo-rate",
        type=_positive_float,
        metavar="RUNS_PER_SECOND",
        help="demo runs per second (2)",
    )
    serve.add_argument(
        "--notify-url",
        metavar="REDIS_URL",
        help="redis:// URL: wake live subscribers through Redis pub/sub instead of Postgres "
        "NOTIFY; recorders need the same URL ($TRACEWIRE_NOTIFY_URL)",
    )
    serve.add_argument(
        "--stall-after",
        type=_positive_float,
        metavar="SECONDS",
        help="mark a running run stalled when its recorder is silent this long "
        "($TRACEWIRE_STALL_AFTER, 120)",
    )

    serve.add_argument(
        "--embedded-port",
        type=_port_or_off,
        metavar="PORT",
        help="offer the embedded PostgreSQL to agents on 127.0.0.1:PORT, or 'off' "
        "($TRACEWIRE_EMBEDDED_PORT, 54320)",
    )
    serve.add_argument(
        "--grpc-port",
        type=_port_or_off,
        metavar="PORT",
        help="receive OTLP over gRPC on this port (of --host), or 'off' ($TRACEWIRE_GRPC_PORT; "
        "4317 unless another collector has it)",
    )
    serve.add_argument(
        "--login-org",
        metavar="ORG",
        help="print a one-time web UI login link into this org at start ($TRACEWIRE_LOGIN_ORG)",
    )

    demo = commands.add_parser(
        "demo", parents=[database], help="record demo agent runs into a database"
    )
    demo.set_defaults(command=_demo)
    demo.add_argument("--org", default=DEMO_ORG, help="org to record into (demo)")
    demo.add_argument(
        "--rate", type=_positive_float, default=2.0, metavar="RUNS_PER_SECOND", help="(2)"
    )
    demo.add_argument("--runs", type=_positive_int, metavar="N", help="stop after N runs")

    db = commands.add_parser("db", help="migrate the database schema")
    db.set_defaults(command=_db)
    db_commands = db.add_subparsers(
        title="commands", required=True, dest="db_command", metavar="COMMAND"
    )
    upgrade = db_commands.add_parser("upgrade", parents=[database], help="upgrade the schema")
    upgrade.add_argument("--revision", default="heads", help="target revision (heads)")
    downgrade = db_commands.add_parser("downgrade", parents=[database], help="downgrade the schema")
    downgrade.add_argument("revision", help="target revision, 'base' for an empty database")
    db_commands.add_parser("current", parents=[database], help="print the schema revision")

    keys = commands.add_parser("keys", help="manage API keys")
    keys.set_defaults(command=_keys)
    keys_commands = keys.add_subparsers(
        title="commands", required=True, dest="keys_command", metavar="COMMAND"
    )
    create = keys_commands.add_parser(
        "create", parents=[database], help="issue a key (the secret is printed once)"
    )
    create.add_argument("--org", required=True, help="organization slug (created if new)")
    create.add_argument("--name", default="", help="a label for the key")
    listing = keys_commands.add_parser("list", parents=[database], help="list keys")
    listing.add_argument("--org", help="only this organization's keys")
    revoke = keys_commands.add_parser("revoke", parents=[database], help="revoke a key")
    revoke.add_argument("public_key", metavar="PUBLIC_KEY", help="the key's pk-tw-... name")
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"not a port number (1-65535): {text!r}")
    return port


def _port_or_off(text: str) -> int:
    return 0 if port_or_off(text) == 0 else _port(text)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _path(text: str) -> Path:
    return Path(text).expanduser()


if __name__ == "__main__":
    sys.exit(main())
