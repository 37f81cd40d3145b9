"""The README's recorder example runs as written and records what it says (against the
demo's own server: tests/packaging/test_wheel.py)."""

import asyncio
import re
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tracewire.db.engine import session_factory
from tracewire.db.models import Organization, Run, Step

README = Path(__file__).resolve().parents[2] / "README.md"


def _recorder_example() -> str:
    section = README.read_text().split("## Record your own agent", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "README has no python example under 'Record your own agent'"
    return match.group(1)


async def test_readme_recorder_example_records_a_completed_run(
    database_url: str, engine: AsyncEngine
) -> None:
    org = f"readme-{uuid.uuid4().hex[:8]}"
    code = _recorder_example().replace(
        '"postgresql://postgres@127.0.0.1:54320/tracewire"', repr(database_url)
    )
    code = code.replace('org="demo"', f"org={org!r}")
    assert repr(database_url) in code and repr(org) in code
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", code], capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr.decode()

    async with session_factory(engine)() as session:
        run = await session.scalar(select(Run).join(Organization).where(Organization.slug == org))
        assert run is not None
        steps = list(await session.scalars(select(Step).where(Step.run_id == run.id)))
    assert (run.agent, run.status, run.current_node) == ("support-bot", "completed", "answer")
    assert [s.type for s in sorted(steps, key=lambda s: s.seq)] == [
        "thought", "plan_update", "node", "tool_call", "node", "llm_call", "validation",
    ]  # fmt: skip
