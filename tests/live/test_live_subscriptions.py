"""Live traces as a user meets them: a websocket client speaking graphql-transport-ws to a
running `tracewire serve`, while a recorder writes the run."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import new_org_key
from tests._server import ServerProcess, serving
from tests._ws import GraphQLSocket, graphql_socket
from tracewire.api.keys import IssuedKey
from tracewire.recorder import Recorder, RecorderSettings

RUN_EVENTS = """
subscription ($runId: ID!, $afterSeq: Int!) {
  runEvents(runId: $runId, afterSeq: $afterSeq) {
    seq kind data step { name status output }
  }
}
"""


@pytest.fixture
async def org() -> str:
    return f"live-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def key(engine: AsyncEngine, org: str) -> IssuedKey:
    return await new_org_key(engine, org)


@pytest.fixture
async def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    async with serving(database_url, tmp_path_factory.mktemp("server")) as process:
        yield process


def _recorder(database_url: str, org: str) -> Recorder:
    return Recorder(database_url, settings=RecorderSettings(org=org, flush_interval=0.01))


async def _subscribe(socket: GraphQLSocket, run_id: uuid.UUID, after_seq: int = 0) -> None:
    await socket.subscribe(RUN_EVENTS, {"runId": str(run_id), "afterSeq": after_seq})


async def _events(
    socket: GraphQLSocket, until_seq: int, wait_s: float = 20.0
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while not events or events[-1]["seq"] < until_seq:
        message = await socket.receive(wait_s)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        events.append(message["payload"]["data"]["runEvents"])
    return events


async def test_a_subscriber_gets_the_stored_events_then_each_new_one_in_order(
    database_url: str, key: IssuedKey, server: ServerProcess, org: str
) -> None:
    rec = _recorder(database_url, org)
    run = rec.run("bot")
    run.thought("first")
    assert await asyncio.to_thread(rec.flush, 10)
    async with graphql_socket(server.ws_url, key.secret) as socket:
        await _subscribe(socket, run.id)
        stored = await _events(socket, 2)  # run created; a step started and ended at once
        for i in range(10):
            run.info(f"live {i}")
            await asyncio.sleep(0.01)
        run.finish()
        live = await _events(socket, 2 + 10 + 1)
    rec.close()
    events = stored + live
    assert [e["seq"] for e in events] == list(range(1, 14))
    assert events[0]["kind"] == "RUN_CREATED"
    assert events[-1]["kind"] == "RUN_STATUS_CHANGED"
    assert events[-1]["data"] == {"status": "completed"}
    assert [e["step"]["name"] for e in events if e["kind"] == "STEP_FINISHED"] == [
        "thought",
        *("info" for _ in range(10)),
    ]


async def test_a_long_step_is_visible_while_it_runs_and_again_when_it_ends(
    database_url: str, key: IssuedKey, server: ServerProcess, org: str
) -> None:
    rec = _recorder(database_url, org)
    run = rec.run("bot")
    assert await asyncio.to_thread(rec.flush, 10)  # stored: a run not yet is "no run"
    async with graphql_socket(server.ws_url, key.secret) as socket:
        await _subscribe(socket, run.id)
        step = run.step("slow search", type="tool_call", input={"q": "x"})
        started = await _events(socket, 2)
        assert started[-1]["kind"] == "STEP_STARTED"
        assert started[-1]["step"] == {"name": "slow search", "status": "RUNNING", "output": None}
        step.end({"hits": 3})
        (finished,) = await _events(socket, 3)
    rec.close()
    assert finished["kind"] == "STEP_FINISHED"
    assert finished["step"] == {"name": "slow search", "status": "COMPLETED", "output": {"hits": 3}}


async def test_subscribing_to_another_orgs_run_is_refused(
    database_url: str, key: IssuedKey, server: ServerProcess, org: str
) -> None:
    rec = _recorder(database_url, f"{org}-other")
    other_run = rec.run("theirs")
    assert await asyncio.to_thread(rec.flush, 10)
    rec.close()
    async with graphql_socket(server.ws_url, key.secret) as socket:
        await _subscribe(socket, other_run.id)
        message = await socket.receive()
    # graphql-transport-ws reports a resolver's refusal as a result with errors.
    assert message["type"] == "next", message
    assert message["payload"]["data"] is None
    assert "no run with id" in message["payload"]["errors"][0]["message"]


async def test_after_a_server_restart_a_client_resumes_from_its_last_seq(
    database_url: str, key: IssuedKey, server: ServerProcess, org: str
) -> None:
    rec = _recorder(database_url, org)
    run = rec.run("bot")
    assert await asyncio.to_thread(rec.flush, 10)
    async with graphql_socket(server.ws_url, key.secret) as socket:
        await _subscribe(socket, run.id)
        run.info("before restart")
        before = await _events(socket, 2)
    assert await server.stop() == 0
    for i in range(5):
        run.info(f"while down {i}")
    assert await asyncio.to_thread(rec.flush, 10)
    await server.start()
    async with graphql_socket(server.ws_url, key.secret) as socket:
        await _subscribe(socket, run.id, before[-1]["seq"])
        run.info("after restart")
        after = await _events(socket, 2 + 5 + 1)
    rec.close()
    assert [e["seq"] for e in before + after] == list(range(1, 9))


async def test_a_subscriber_on_a_second_server_sees_every_event(
    database_url: str,
    key: IssuedKey,
    server: ServerProcess,
    org: str,
    tmp_path: Path,
) -> None:
    async with serving(database_url, tmp_path) as second:
        rec = _recorder(database_url, org)
        run = rec.run("bot")
        assert await asyncio.to_thread(rec.flush, 10)
        async with (
            graphql_socket(server.ws_url, key.secret) as first_socket,
            graphql_socket(second.ws_url, key.secret) as second_socket,
        ):
            for socket in (first_socket, second_socket):
                await _subscribe(socket, run.id)
            for i in range(20):
                run.info(f"step {i}")
                await asyncio.sleep(0.005)
            on_first = await _events(first_socket, 21)
            on_second = await _events(second_socket, 21)
        rec.close()
    assert [e["seq"] for e in on_first] == [e["seq"] for e in on_second] == list(range(1, 22))


@pytest.mark.slow
async def test_five_hundred_subscribers_of_one_run_each_get_every_event_once(
    database_url: str, key: IssuedKey, server: ServerProcess, org: str
) -> None:
    rec = _recorder(database_url, org)
    run = rec.run("bot")
    assert await asyncio.to_thread(rec.flush, 10)
    live = asyncio.Event()
    connected = 0

    async def watch(subscribed: asyncio.Event) -> list[int]:
        nonlocal connected
        async with graphql_socket(server.ws_url, key.secret) as socket:
            await _subscribe(socket, run.id)
            seqs = [event["seq"] for event in await _events(socket, 1, wait_s=120)]
            subscribed.set()
            connected += 1
            if connected == 500:
                live.set()
            events = await _events(socket, 11, wait_s=120)  # one event per instant step
            return seqs + [event["seq"] for event in events]

    watchers = []
    for _ in range(10):  # connect in waves, as browsers opening a page would
        wave = [asyncio.Event() for _ in range(50)]
        watchers += [asyncio.create_task(watch(subscribed)) for subscribed in wave]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in wave)), timeout=120)
    await asyncio.wait_for(live.wait(), timeout=120)
    for i in range(10):
        run.info(f"step {i}")
    results = await asyncio.wait_for(asyncio.gather(*watchers), timeout=180)
    rec.close()
    assert all(seqs == list(range(1, 12)) for seqs in results)


async def test_older_clients_speaking_legacy_graphql_ws_get_the_same_stream(
    database_url: str, key: IssuedKey, server: ServerProcess, org: str
) -> None:
    rec = _recorder(database_url, org)
    run = rec.run("bot")
    run.info("hello")
    run.finish()
    assert await asyncio.to_thread(rec.flush, 10)
    seqs: list[int] = []
    kinds: list[str] = []
    async with (
        httpx.AsyncClient() as client,
        aconnect_ws(
            server.ws_url, client, subprotocols=["graphql-ws"], session_class=AsyncWebSocketSession
        ) as ws,
    ):
        payload = {"Authorization": f"Bearer {key.secret}"}
        await ws.send_json({"type": "connection_init", "payload": payload})
        assert (await ws.receive_json(timeout=20))["type"] == "connection_ack"
        variables = {"runId": str(run.id), "afterSeq": 0}
        await ws.send_json(
            {"id": "1", "type": "start", "payload": {"query": RUN_EVENTS, "variables": variables}}
        )
        while "RUN_STATUS_CHANGED" not in kinds:
            message = await ws.receive_json(timeout=20)
            if message["type"] == "ka":
                continue
            assert message["type"] == "data", message
            event = message["payload"]["data"]["runEvents"]
            seqs.append(event["seq"])
            kinds.append(event["kind"])
    rec.close()
    assert seqs == list(range(1, len(seqs) + 1))
    assert kinds[0] == "RUN_CREATED" and "STEP_FINISHED" in kinds
