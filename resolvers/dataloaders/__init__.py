"""DataLoaders, one per module, made fresh for every GraphQL operation (see `Loaders`)."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from api.auth import Caller
from resolvers.dataloaders import failed_nodes

__all__ = ["Loaders"]


@dataclass(frozen=True, slots=True)
class Loaders:
    """The loaders of one operation. Their caches live as long as the operation, so a
    long-lived websocket connection never serves rows cached by an earlier operation."""

    failed_nodes: DataLoader[failed_nodes.Key, failed_nodes.Result]

    @classmethod
    def create(cls, sessions: async_sessionmaker[AsyncSession], caller: Caller) -> "Loaders":
        return cls(failed_nodes=failed_nodes.failed_nodes_loader(sessions, caller))
