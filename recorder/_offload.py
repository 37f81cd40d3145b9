"""Large step values go to the artifact store, and the step keeps a small reference, so
`steps` rows stay small however big an agent's inputs and outputs get.

Runs in the writer thread on wire records (values are JSON text there already): a value
over the limit becomes an artifact (`input.json` / `output.json`, role `input` / `output`,
linked to the step) and, in the row, `{"$artifact": id, "role", "size_bytes", "preview"}`.
The reference is committed before the upload ends; the artifact follows once stored.
"""

import uuid
from collections.abc import Callable

import orjson

from tracewire.recorder._records import (
    STEP_ENDED,
    STEP_STARTED,
    StepEnded,
    StepStarted,
    WireRecord,
)

PREVIEW_CHARS = 1000
JSON = "application/json"

# (run id, step id, role, name, mime type, content) -> the new artifact's id
Submit = Callable[[uuid.UUID, uuid.UUID, str, str, str, bytes], uuid.UUID]


class Offloader:
    def __init__(self, limit: int, submit: Submit) -> None:
        self._limit = limit
        self._submit = submit

    def __call__(self, records: list[WireRecord]) -> list[WireRecord]:
        """The batch's records (the list itself, changed in place), each step value over the
        limit replaced by a reference."""
        limit = self._limit
        for i, record in enumerate(records):
            if record.kind == STEP_STARTED:
                value = record.input
                if value is not None and len(value) > limit:
                    records[i] = record._replace(input=self._reference(record, "input", value))
            elif record.kind == STEP_ENDED:
                value = record.output
                if value is not None and len(value) > limit:
                    records[i] = record._replace(output=self._reference(record, "output", value))
        return records

    def _reference(self, step: StepStarted | StepEnded, role: str, value: str) -> str:
        """The value stored as an artifact of the step, and what the row keeps of it."""
        content = value.encode()
        artifact_id = self._submit(
            uuid.UUID(step.run_id), uuid.UUID(step.step_id), role, f"{role}.json", JSON, content
        )
        reference = {
            "$artifact": str(artifact_id),
            "role": role,
            "size_bytes": len(content),
            "preview": value[:PREVIEW_CHARS],
        }
        return orjson.dumps(reference).decode()
