"""Query logic behind the GraphQL schema: org-scoped SQL, keyset pagination, DataLoaders.

Resolvers return ORM rows and pages; `schema.types` wraps them into GraphQL types.
"""

from resolvers.errors import InvalidArgument, UserError

__all__ = ["InvalidArgument", "UserError"]
