"""The ASGI application: GraphQL (+ GraphiQL and websockets) at `/graphql`, CSV/JSONL
downloads under `/export/` (api/export.py), the recorder's and OTLP ingestion (api/ingest/,
api/otlp/; OTLP/gRPC on a port of its own), the web UI at
`/` (api/web_ui.py) with its login-link exchange under `/auth/` (api/web_login.py), and
`/healthz`. Every HTTP answer carries the security headers of api/security_headers.py;
`/graphql` bodies are capped at `ServerSettings.max_request_bytes`."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from tracewire.api import artifacts as artifacts_api
from tracewire.api import export
from tracewire.api.artifacts.access import opened_artifacts
from tracewire.api.auth import Authenticator, KeyCheckUnavailable
from tracewire.api.body_cap import CappedBody
from tracewire.api.context import Services, services_of
from tracewire.api.graphql_app import GraphQLApp
from tracewire.api.ingest.routes import ingest_routes
from tracewire.api.ingest.service import IngestService
from tracewire.api.login_links import LoginLinks
from tracewire.api.otlp import otlp_routes
from tracewire.api.otlp.grpc_receiver import check_port, serving_otlp_grpc
from tracewire.api.revocations import watching_revocations
from tracewire.api.security_headers import SecurityHeaders
from tracewire.api.settings import ServerSettings
from tracewire.api.web_login import login_routes
from tracewire.api.web_ui import BundledGraphiQL, web_ui_routes
from tracewire.db import migrate
from tracewire.db.engine import create_engine, session_factory
from tracewire.live.service import running_live

HEALTH_TIMEOUT_SECONDS = 5.0


def create_app(settings: ServerSettings, login_links: LoginLinks | None = None) -> Starlette:
    """The server app for `settings`, and the one-time login links it printed, if any. Its
    lifespan migrates the database (under an advisory lock, so servers starting together are
    safe), then opens the connection pool."""
    database_url = settings.database_url
    if database_url is None:
        raise ValueError("create_app needs settings.database_url (start the embedded Postgres)")
    check_port(settings)  # OTLP/gRPC's, when chosen explicitly: taken fails now, in one line
    ingest = IngestService(
        database_url, settings.notify_url, max_queued_records=settings.ingest_queue_records
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await migrate.upgrade(database_url)
        engine = create_engine(database_url)
        await ingest.start()
        try:
            sessions = session_factory(engine)
            authenticator = await Authenticator.start(sessions, settings.anonymous_org)
            async with (
                running_live(
                    database_url=database_url,
                    notify_url=settings.notify_url,
                    engine=engine,
                    sessions=sessions,
                    stall_after=settings.stall_after,
                ) as live,
                opened_artifacts(settings) as artifacts,
                watching_revocations(sessions) as revocations,
            ):
                app.state.services = Services(
                    engine,
                    sessions,
                    authenticator,
                    live.hub,
                    live.reader,
                    artifacts,
                    live.wakeups,
                    revocations,
                )
                # Stopped (after a short grace) before the ingest service it feeds closes.
                async with serving_otlp_grpc(settings, ingest, authenticator) as grpc_port:
                    app.state.otlp_grpc_port = grpc_port
                    # Everything imported and opened so far lives as long as the server:
                    # out of the collector's sight, a full collection no longer walks it
                    # (it did, for 100-180 ms at a time, stalling every live stream).
                    gc.collect()
                    gc.freeze()
                    yield
        finally:
            await ingest.close()
            app.state.services = app.state.otlp_grpc_port = None
            await engine.dispose()

    graphql = GraphQLApp()
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/graphql", CappedBody(BundledGraphiQL(graphql), settings.max_request_bytes)),
        WebSocketRoute("/graphql", graphql),
        *export.routes,
        *artifacts_api.routes,
        *ingest_routes(ingest),
        *otlp_routes(ingest, max_request_bytes=settings.max_request_bytes),
        *login_routes(login_links),
        *web_ui_routes(),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={KeyCheckUnavailable: key_check_unavailable},
    )


async def key_check_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A key that could not be checked (the database is away) is the server's trouble, not
    the client's: 503, so that recorders and exporters retry with the same key."""
    message = exc.message if isinstance(exc, KeyCheckUnavailable) else str(exc)
    return JSONResponse({"error": message}, status_code=503, headers={"Retry-After": "5"})


def otlp_grpc_port(app: Starlette) -> int | None:
    """The port OTLP/gRPC listens on, once the app has started; None when it does not."""
    port: int | None = getattr(app.state, "otlp_grpc_port", None)
    return port


async def healthz(request: Request) -> JSONResponse:
    """200 once the database answers; 503 (not a 500) while it does not."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
            async with services_of(request).engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except (TimeoutError, OSError, SQLAlchemyError):
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
