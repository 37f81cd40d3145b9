"""The run lifecycle from seed 000, with its transition rules:

    create          → pending
    start           pending, needs_review           → running
    finish          running, stalled                → completed | partial | failed
    cancel          pending, running, needs_review, stalled → cancelled
    request review  running                         → needs_review
    approve review  needs_review                    → running    (the run goes on)
    reject review   needs_review                    → failed     (error code review_rejected)

Each change appends a run event with the run's next seq, allocated the way the recorder
does it (`UPDATE runs SET last_event_seq = last_event_seq + 1 ... RETURNING` under the row
lock, in the same transaction), and wakes live subscribers through the context's publisher
(`tracewire.db.wakeups`, as the recorder does), so they see changes made through the API too.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from tracewire.db.enums import EventKind, RunStatus
from tracewire.db.models import Run, RunEvent
from tracewire.db.wakeups import Announcement, SqlAlchemyTransaction
from tracewire.resolvers import scope
from tracewire.resolvers.context import Context
from tracewire.resolvers.errors import InvalidArgument, InvalidTransition, NotFound
from tracewire.resolvers.filters import check_storable, parse_id

MAX_NOTE = 10_000
REVIEW_REJECTED = "review_rejected"

_S = RunStatus


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    sources: frozenset[RunStatus]
    target: RunStatus | None  # None: the caller picks (finish)


START = Action("start", frozenset({_S.PENDING, _S.NEEDS_REVIEW}), _S.RUNNING)
FINISH = Action("finish", frozenset({_S.RUNNING, _S.STALLED}), None)
CANCEL = Action("cancel", frozenset({_S.PENDING, _S.RUNNING, _S.NEEDS_REVIEW, _S.STALLED}), None)
REQUEST_REVIEW = Action("request review for", frozenset({_S.RUNNING}), _S.NEEDS_REVIEW)
APPROVE_REVIEW = Action("approve", frozenset({_S.NEEDS_REVIEW}), _S.RUNNING)
REJECT_REVIEW = Action("reject", frozenset({_S.NEEDS_REVIEW}), _S.FAILED)
FINISHING_STATUSES = frozenset({_S.COMPLETED, _S.PARTIAL, _S.FAILED})


def _checked(name: str, value: str | None, limit: int = MAX_NOTE) -> str | None:
    if value is not None and len(value) > limit:
        raise InvalidArgument(f"{name} is longer than {limit} characters")
    check_storable(name, value)
    return value


async def _append_event(
    session: AsyncSession, context: Context, run_id: uuid.UUID, seq: int, kind: EventKind,
    data: dict[str, Any],
) -> Announcement:  # fmt: skip
    caller = context.caller
    await session.execute(
        scope.additions(caller, RunEvent, run_id=run_id, seq=seq, kind=kind.value, data=data)
    )
    return await context.wakeups.announce(
        SqlAlchemyTransaction(session), [(caller.org_id, run_id, seq, seq)]
    )


async def create_run(
    context: Context,
    *,
    agent: str,
    input: Any,
    user_id: str | None,
    conversation_id: str | None,
    tags: list[str],
    metadata: Any,
) -> Run:
    if not agent.strip() or len(agent) > 200:
        raise InvalidArgument("agent must be 1 to 200 characters, not blank")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidArgument("metadata must be a JSON object")
    if len(tags) > 50 or any(not t.strip() or len(t) > 100 for t in tags):
        raise InvalidArgument("at most 50 tags of 1 to 100 characters")
    _checked("userId", user_id, 500)
    _checked("conversationId", conversation_id, 500)
    for name, value in (("agent", agent), ("tags", tags), ("input", input), ("metadata", metadata)):
        check_storable(name, value)
    run_id = uuid.uuid4()
    values = {
        "id": run_id,
        "agent": agent,
        "status": RunStatus.PENDING.value,
        "input": input,
        "user_id": user_id,
        "conversation_id": conversation_id,
        "tags": tags,
        "metadata_": metadata or {},
        "last_event_seq": 1,
    }
    async with context.sessions.begin() as session:
        run = (
            await session.scalars(scope.additions(context.caller, Run, **values).returning(Run))
        ).one()
        announced = await _append_event(
            session, context, run_id, 1, EventKind.RUN_CREATED, {"status": RunStatus.PENDING.value}
        )
    await announced.after_commit()
    return run


async def transition(
    context: Context,
    run_id: str,
    action: Action,
    *,
    note: str | None = None,
    target: RunStatus | None = None,
    **changes: Any,
) -> Run:
    """Apply `action` to the run if its status allows, recording a status-change event."""
    key = parse_id(run_id)
    if key is None:
        raise NotFound("run", run_id)
    _checked("note", note)
    new_status = action.target or target
    assert new_status is not None
    caller = context.caller
    async with context.sessions.begin() as session:
        current = await session.scalar(
            scope.columns(caller, Run, Run.status).where(Run.id == key).with_for_update()
        )
        if current is None:
            raise NotFound("run", run_id)
        if RunStatus(current) not in action.sources:
            allowed = ", ".join(sorted(s.value for s in action.sources))
            raise InvalidTransition(f"cannot {action.name} a {current} run (only {allowed})")
        update = (
            scope.changes(caller, Run)
            .where(Run.id == key)
            .values(
                status=new_status.value,
                last_event_seq=Run.last_event_seq + 1,
                updated_at=func.now(),
                **changes,
            )
            .returning(Run)
            .execution_options(synchronize_session=False)
        )
        run = (await session.scalars(update)).one()
        data = {"status": new_status.value, "previous": current, "action": action.name}
        if note is not None:
            data["note"] = note
        announced = await _append_event(
            session, context, key, run.last_event_seq, EventKind.RUN_STATUS_CHANGED, data
        )
    await announced.after_commit()
    return run


async def start_run(context: Context, run_id: str) -> Run:
    return await transition(
        context, run_id, START, started_at=func.coalesce(Run.started_at, func.now())
    )


async def finish_run(
    context: Context,
    run_id: str,
    *,
    status: RunStatus,
    output: Any,
    error_code: str | None,
    error_message: str | None,
) -> Run:
    if status not in FINISHING_STATUSES:
        raise InvalidArgument("a run finishes as COMPLETED, PARTIAL or FAILED (or is cancelled)")
    changes: dict[str, Any] = {"finished_at": func.now()}
    check_storable("output", output)
    if output is not None:
        changes["output"] = output
    if error_code is not None or error_message is not None:
        changes["error_code"] = _checked("errorCode", error_code, 200)
        changes["error_message"] = _checked("errorMessage", error_message)
    return await transition(context, run_id, FINISH, target=status, **changes)


async def cancel_run(context: Context, run_id: str, note: str | None) -> Run:
    return await transition(
        context, run_id, CANCEL, note=note, target=RunStatus.CANCELLED, finished_at=func.now()
    )


async def request_review(context: Context, run_id: str, note: str | None) -> Run:
    return await transition(context, run_id, REQUEST_REVIEW, note=note)


async def approve_review(context: Context, run_id: str, note: str | None) -> Run:
    return await transition(context, run_id, APPROVE_REVIEW, note=note)


async def reject_review(context: Context, run_id: str, note: str | None) -> Run:
    return await transition(
        context,
        run_id,
        REJECT_REVIEW,
        note=note,
        finished_at=func.now(),
        error_code=REVIEW_REJECTED,
        error_message=note or "rejected in review",
    )
