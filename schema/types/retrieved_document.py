"""A document a retriever (or reranker) span returned."""

import strawberry
from strawberry.scalars import JSON

from tracewire.db import step_payload


@strawberry.type(description="A document a retrieval step returned, in the order returned.")
class RetrievedDocument:
    id: str | None = strawberry.field(description="The document's id in its store.")
    score: float | None = strawberry.field(description="Its relevance score, as reported.")
    content: str | None = strawberry.field(description="Its text.")
    metadata: JSON | None = strawberry.field(
        description="Its metadata: JSON, or the text sent when that was not JSON."
    )

    @classmethod
    def of(cls, document: step_payload.RetrievedDocument) -> "RetrievedDocument":
        return cls(
            id=document["id"],
            score=document["score"],
            content=document["content"],
            metadata=JSON(document["metadata"]),
        )
