"""CSV and JSONL downloads (seed 004's `/export/run_events.csv`, and more), streamed row by
row from a server-side cursor. They authenticate like `/graphql` (`Authorization: Bearer`)
and see only the caller's organization: another org's run is a 404, as a missing one is.

    GET /export/runs.csv | runs.jsonl          ?status=failed&agent=..&lastHours=24&...
    GET /export/runs/{id}/events.csv | .jsonl
    GET /export/runs/{id}/steps.csv  | .jsonl
    GET /export/qa.csv | qa.jsonl              ?bucket=High

The run list takes the `RunFilter` fields as query parameters (repeat `status`, `agent` and
`tag` for several values; times in ISO 8601 with a zone).
"""

import csv
import io
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy.exc import DataError
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tracewire.api.auth import Unauthorized
from tracewire.api.context import services_of
from tracewire.db.enums import RunStatus
from tracewire.resolvers import export
from tracewire.resolvers.caller import Caller
from tracewire.resolvers.errors import UserError
from tracewire.resolvers.filters import RunFilterSpec, parse_id

LINES_PER_CHUNK = 200
_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}

Rows = AsyncIterator[dict[str, Any]]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds() * 1000
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value) if isinstance(value, Decimal) else value


def _json_default(value: Any) -> Any:
    # asyncpg returns its own UUID subclass, which orjson leaves to us.
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, timedelta):
        return value.total_seconds() * 1000
    raise TypeError(type(value).__name__)


async def _csv(rows: Rows, columns: Sequence[str]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    count = 0
    async for row in rows:
        writer.writerow([_cell(row[c]) for c in columns])
        count += 1
        if count % LINES_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def _jsonl(rows: Rows) -> AsyncIterator[bytes]:
    chunk: list[bytes] = []
    async for row in rows:
        chunk.append(orjson.dumps(row, default=_json_default) + b"\n")
        if len(chunk) == LINES_PER_CHUNK:
            yield b"".join(chunk)
            chunk = []
    yield b"".join(chunk)


async def _started(rows: Rows) -> Rows:
    """`rows` with its query already answered: a statement the database refuses fails here,
    before the response's status is sent, instead of cutting a 200 body short."""
    try:
        first = await anext(rows)
    except StopAsyncIteration:
        first = None
    except DataError as exc:
        raise ValueError(f"the database refused this filter: {exc.orig}") from None

    async def resumed() -> Rows:
        if first is not None:
            yield first
            async for row in rows:
                yield row

    return resumed()


async def _respond(rows: Rows, columns: Sequence[str], fmt: str, filename: str) -> Response:
    rows = await _started(rows)
    body = _csv(rows, columns) if fmt == "csv" else _jsonl(rows)
    headers = {"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'}
    return StreamingResponse(body, media_type=_MEDIA[fmt], headers=headers)


def _error(status: int, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="tracewire"'} if status == 401 else None
    return JSONResponse({"errors": [{"message": message}]}, status_code=status, headers=headers)


Handler = Callable[[Request, Caller, str], Any]


def _endpoint(handler: Handler) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        fmt = request.path_params["fmt"]
        if fmt not in _MEDIA:
            return _error(404, f"unknown format {fmt!r}: csv or jsonl")
        services = services_of(request)
        try:
            caller = await services.authenticator.authenticate(request.headers.get("authorization"))
        except Unauthorized as exc:
            return _error(401, exc.message)
        try:
            response: Response = await handler(request, caller, fmt)
        except (UserError, ValueError) as exc:
            return _error(400, str(exc))
        return response

    return endpoint


async def _run_log(request: Request, caller: Caller, fmt: str) -> Response:
    sessions = services_of(request).sessions
    raw_id = request.path_params["run_id"]
    run_id = parse_id(raw_id)
    if request.path_params["what"] not in ("events", "steps"):
        return _error(404, "export a run's events or steps")
    if run_id is None or not await export.run_exists(sessions, caller, run_id):
        return _error(404, f"no run with id {raw_id!r}")
    columns: Sequence[str]
    if request.path_params["what"] == "events":
        rows, columns = export.run_events(sessions, caller, run_id), export.EVENT_COLUMNS
    else:
        rows, columns = export.run_steps(sessions, caller, run_id), export.STEP_COLUMNS
    return await _respond(rows, columns, fmt, f"run-{run_id}-{request.path_params['what']}")


def run_filter_from_query(request: Request) -> RunFilterSpec:
    """The `RunFilter` fields from query parameters (camelCase, as in GraphQL)."""
    q = request.query_params
    last_hours = q.get("lastHours")
    try:
        statuses = [RunStatus(s.lower()) for s in q.getlist("status")]
    except ValueError:
        raise ValueError(f"status must be one of: {', '.join(RunStatus)}") from None
    return RunFilterSpec.of(
        statuses=statuses,
        agents=q.getlist("agent") or None,
        user_id=q.get("userId"),
        conversation_id=q.get("conversationId"),
        tags=q.getlist("tag") or None,
        failed_node=q.get("failedNode"),
        start=_time(q, "from"),
        end=_time(q, "to"),
        last_hours=_hours(last_hours) if last_hours is not None else None,
        error_text=q.get("errorText"),
    )


def _time(query: QueryParams, name: str) -> datetime | None:
    if name not in query:
        return None
    try:
        return datetime.fromisoformat(query[name])
    except ValueError:
        raise ValueError(
            f"{name} must be an ISO 8601 time with a zone, got {query[name]!r:.80}"
        ) from None


def _hours(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"lastHours must be a number, got {text!r:.80}") from None


async def _runs(request: Request, caller: Caller, fmt: str) -> Response:
    spec = run_filter_from_query(request)
    rows = export.runs(services_of(request).sessions, caller, spec)
    return await _respond(rows, export.RUN_COLUMNS, fmt, "runs")


async def _qa(request: Request, caller: Caller, fmt: str) -> Response:
    rows = export.qa_samples(
        services_of(request).sessions, caller, request.query_params.get("bucket")
    )
    return await _respond(rows, export.QA_COLUMNS, fmt, "qa-samples")


routes = [
    Route("/export/runs.{fmt}", _endpoint(_runs), methods=["GET"]),
    Route("/export/qa.{fmt}", _endpoint(_qa), methods=["GET"]),
    Route("/export/runs/{run_id}/{what:str}.{fmt}", _endpoint(_run_log), methods=["GET"]),
]
