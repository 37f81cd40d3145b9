"""The README's recorder example runs as written and records what it says, over HTTP into
a real server with a key of a fresh organization (against the demo's own server with the
demo key, as written: tests/packaging/test_wheel.py)."""

import asyncio
import re
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import new_org_key
from tests._server import serving
from tracewire.db.engine import session_factory
from tracewire.db.models import Organization, Run, Step

README = Path(__file__).resolve().parents[2] / "README.md"


def _recorder_example() -> str:
    section = README.read_text().split("## Record your own agent", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "README has no python example under 'Record your own agent'"
    return match.group(1)


async def test_readme_recorder_example_records_a_completed_run(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    org = f"readme-{uuid.uuid4().hex[:8]}"
    key = await new_org_key(engine, org)
    async with serving(database_url, tmp_path) as server:
        code = _recorder_example().replace('"http://127.0.0.1:8000"', repr(server.http_url))
        code = code.replace('api_key="sk-tw-demo"', f"api_key={key.secret!r}")
        assert repr(server.http_url) in code and repr(key.secret) in code
        result = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", code], capture_output=True, timeout=120
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
