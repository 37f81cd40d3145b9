"""A file a run produced, stored in the object store; the database keeps its metadata."""

from datetime import datetime

import strawberry
from strawberry.types import Info

from tracewire.db import models
from tracewire.resolvers.context import Context
from tracewire.schema.types._field import field


@strawberry.type(description="A file a run produced (a report, an image, a dataset...).")
class Artifact:
    id: strawberry.ID = strawberry.field(description="The artifact's id.")
    run_id: strawberry.ID = strawberry.field(description="The run that produced it.")
    step_id: strawberry.ID | None = strawberry.field(
        description="The step that produced it; null for the run's own files."
    )
    role: str = strawberry.field(description="What it is for the run, e.g. `report`.")
    name: str = strawberry.field(description="Its file name, as offered for download.")
    mime_type: str = strawberry.field(description="Its media type.")
    size_bytes: float = strawberry.field(description="Its size (a Float: files pass 2 GB).")
    sha256: str = strawberry.field(description="Hex SHA-256 of its content.")
    created_at: datetime = strawberry.field(description="When it was stored.")
    row: strawberry.Private[models.Artifact]

    @classmethod
    def from_row(cls, row: models.Artifact) -> "Artifact":
        return cls(
            id=strawberry.ID(str(row.id)),
            run_id=strawberry.ID(str(row.run_id)),
            step_id=strawberry.ID(str(row.step_id)) if row.step_id else None,
            role=row.role,
            name=row.name,
            mime_type=row.mime_type,
            size_bytes=float(row.size_bytes),
            sha256=row.sha256,
            created_at=row.created_at,
            row=row,
        )

    @field(
        description="Where to fetch it, good for a few minutes (ask again for a fresh one): "
        "a presigned object-store URL, or a signed server path (`/artifacts/{id}/content?"
        "...`, relative to this server) that needs no Authorization header, so it works in "
        "`<img src>` and `<video src>`. Both answer `Range` requests. Types a browser could "
        "run (HTML, SVG, scripts...) download as attachments."
    )
    async def download_url(self, info: Info[Context, None]) -> str:
        return await info.context.artifacts.download_url(self.row)
