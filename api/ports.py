"""Ports the server listens on beside uvicorn's (OTLP/gRPC): checked before the slow part of
a start, so that a taken one fails at once and in one line (the CLI prints a `PortTaken` as
its message, without a traceback). Standard library only: the CLI imports it for every
command."""

import socket


class PortTaken(Exception):
    """A port the server was told to listen on cannot be bound. The message says which, why,
    and how to choose another."""


def bind_error(host: str, port: int) -> str | None:
    """Why binding `host:port` fails right now; None when it is free."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as sock:
            # As servers bind (grpc too): connections lingering in TIME_WAIT leave it free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as error:
        return error.strerror or str(error)
    return None
