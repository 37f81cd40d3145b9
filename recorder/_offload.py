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

from tracewire.recorder._records import STEP_ENDED, STEP_STARTED, Record

PREVIEW_CHARS = 1000
JSON = "application/json"

# (run id, step id, role, name, mime type, content) -> the new artifact's id
Submit = Callable[[uuid.UUID, uuid.UUID, str, str, str, bytes], uuid.UUID]


class Offloader:
    def __init__(self, limit: int, submit: Submit) -> None:
        self._limit = limit
        self._submit = submit

    def __call__(self, record: Record) -> Record:
        kind = record[0]
        if kind == STEP_STARTED:
            index, role = 6, "input"
        elif kind == STEP_ENDED:
            index, role = 4, "output"
        else:
            return record
        value = record[index]
        if value is None or len(value) <= self._limit:
            return record
        content = value.encode()
        artifact_id = self._submit(
            uuid.UUID(record[2]), uuid.UUID(record[1]), role, f"{role}.json", JSON, content
        )
        reference = {
            "$artifact": str(artifact_id),
            "role": role,
            "size_bytes": len(content),
            "preview": value[:PREVIEW_CHARS],
        }
        return (*record[:index], orjson.dumps(reference).decode(), *record[index + 1 :])
