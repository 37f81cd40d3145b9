"""A run's steps as a tree, flattened depth-first so one query draws the whole tree view."""

import strawberry

from tracewire.resolvers import steps
from tracewire.schema.types.step import Step


@strawberry.type(description="One step of a tree, with where it sits.")
class StepTreeNode:
    step: Step = strawberry.field(description="The step.")
    depth: int = strawberry.field(description="0 for a top-level step, parent's depth + 1 else.")
    child_count: int = strawberry.field(description="How many steps ran directly inside it.")


@strawberry.type(
    description="A run's steps depth-first: each step followed by the steps that ran inside it, "
    "in seq order. Indent by `depth` to draw the tree."
)
class StepTree:
    nodes: list[StepTreeNode] = strawberry.field(description="The steps, depth-first.")
    truncated: bool = strawberry.field(
        description="True when the run has more steps than the tree's `first`: the later ones "
        "are left out (page through `steps` for them)."
    )

    @classmethod
    def of(cls, tree: steps.StepTree) -> "StepTree":
        return cls(
            nodes=[
                StepTreeNode(step=Step.from_row(e.step), depth=e.depth, child_count=e.child_count)
                for e in tree.entries
            ],
            truncated=tree.truncated,
        )
