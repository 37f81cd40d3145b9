"""A file a run produced, stored in the object store; the database keeps its metadata."""

from datetime import datetime

import strawberry

from db import models


@strawberry.type(description="A file a run produced (a report, an image, a dataset...).")
class Artifact:
    id: strawberry.ID = strawberry.field(description="The artifact's id.")
    run_id: strawberry.ID = strawberry.field(description="The run that produced it.")
    step_id: strawberry.ID | None = strawberry.field(description="The step that produced it.")
    role: str = strawberry.field(description="What it is for the run, e.g. `report`.")
    mime_type: str = strawberry.field(description="Its media type.")
    size_bytes: float = strawberry.field(description="Its size (a Float: files pass 2 GB).")
    sha256: str = strawberry.field(description="Hex SHA-256 of its content.")
    created_at: datetime = strawberry.field(description="When it was stored.")

    @classmethod
    def from_row(cls, row: models.Artifact) -> "Artifact":
        return cls(
            id=strawberry.ID(str(row.id)),
            run_id=strawberry.ID(str(row.run_id)),
            step_id=strawberry.ID(str(row.step_id)) if row.step_id else None,
            role=row.role,
            mime_type=row.mime_type,
            size_bytes=float(row.size_bytes),
            sha256=row.sha256,
            created_at=row.created_at,
        )
