"""Query logic behind the GraphQL schema: org-scoped SQL, keyset pagination, DataLoaders.

Resolvers return ORM rows and pages; `schema.types` wraps them into GraphQL types.
"""

from tracewire.resolvers.errors import InvalidArgument, InvalidTransition, NotFound, UserError

__all__ = ["InvalidArgument", "InvalidTransition", "NotFound", "UserError"]
