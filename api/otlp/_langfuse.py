"""The rest of what the Langfuse SDK calls besides OTLP during ordinary tracing: its
project lookup (`auth_check()`, trace URLs) and health check. Score and other legacy
ingestion events are refused per event, which the SDK reports without retrying."""

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tracewire.api.auth import Unauthorized
from tracewire.api.context import services_of
from tracewire.api.ingest.orgs import org_slug
from tracewire.api.otlp._auth import caller_of
from tracewire.api.request_body import BodyError, read_json


def langfuse_routes(max_body_bytes: int) -> list[Route]:
    async def projects(request: Request) -> Response:
        try:
            caller = await caller_of(request)
        except Unauthorized as error:
            return _unauthorized(error)
        slug = await org_slug(services_of(request).sessions, caller.org_id)
        org = {"id": str(caller.org_id), "name": slug}
        return JSONResponse({"data": [{**org, "organization": org, "metadata": {}}]})

    async def ingestion(request: Request) -> Response:
        try:
            await caller_of(request)
        except Unauthorized as error:
            return _unauthorized(error)
        try:
            body: Any = await read_json(request, max_body_bytes)
        except BodyError as error:
            return JSONResponse({"message": error.message}, status_code=error.status)
        events = body.get("batch") if isinstance(body, dict) else None
        if not isinstance(events, list):
            events = []
        message = "not supported by Tracewire: send traces over OTLP (Langfuse SDK v3+)"
        errors = [
            {"id": str(event.get("id", "")), "status": 501, "message": message}
            for event in events
            if isinstance(event, dict)
        ]
        return JSONResponse({"successes": [], "errors": errors}, status_code=207)

    return [
        Route("/api/public/projects", projects, methods=["GET"]),
        Route("/api/public/health", health, methods=["GET"]),
        Route("/api/public/ingestion", ingestion, methods=["POST"]),
    ]


async def health(request: Request) -> Response:
    return JSONResponse({"status": "OK", "version": "tracewire"})


def _unauthorized(error: Unauthorized) -> Response:
    return JSONResponse(
        {"message": error.message},
        status_code=401,
        headers={"WWW-Authenticate": 'Basic realm="tracewire"'},
    )
