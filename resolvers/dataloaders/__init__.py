"""DataLoaders, one per module, made fresh for every GraphQL operation (see `Loaders`)."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from tracewire.resolvers.caller import Caller
from tracewire.resolvers.dataloaders import (
    failed_nodes,
    first_failures,
    run_artifacts,
    run_steps,
    run_usage,
    runs_by_id,
    step_artifacts,
    step_children,
    step_counts,
    steps_by_id,
)

__all__ = ["Loaders"]


@dataclass(frozen=True, slots=True)
class Loaders:
    """The loaders of one operation. Their caches live as long as the operation, so a
    long-lived websocket connection never serves rows cached by an earlier operation."""

    failed_nodes: DataLoader[failed_nodes.Key, failed_nodes.Result]
    first_failures: DataLoader[first_failures.Key, first_failures.Result]
    run_artifacts: DataLoader[run_artifacts.Key, run_artifacts.Result]
    run_steps: DataLoader[run_steps.Key, run_steps.Result]
    run_usage: DataLoader[run_usage.Key, run_usage.Result]
    runs_by_id: DataLoader[runs_by_id.Key, runs_by_id.Result]
    step_artifacts: DataLoader[step_artifacts.Key, step_artifacts.Result]
    step_children: DataLoader[step_children.Key, step_children.Result]
    step_counts: DataLoader[step_counts.Key, step_counts.Result]
    steps_by_id: DataLoader[steps_by_id.Key, steps_by_id.Result]

    @classmethod
    def create(cls, sessions: async_sessionmaker[AsyncSession], caller: Caller) -> "Loaders":
        return cls(
            failed_nodes=failed_nodes.failed_nodes_loader(sessions, caller),
            first_failures=first_failures.first_failures_loader(sessions, caller),
            run_artifacts=run_artifacts.run_artifacts_loader(sessions, caller),
            run_steps=run_steps.run_steps_loader(sessions, caller),
            run_usage=run_usage.run_usage_loader(sessions, caller),
            runs_by_id=runs_by_id.runs_by_id_loader(sessions, caller),
            step_artifacts=step_artifacts.step_artifacts_loader(sessions, caller),
            step_children=step_children.step_children_loader(sessions, caller),
            step_counts=step_counts.step_counts_loader(sessions, caller),
            steps_by_id=steps_by_id.steps_by_id_loader(sessions, caller),
        )
